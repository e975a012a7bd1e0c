//! URL previews (v1 authenticated and legacy v3) of a page this test
//! serves itself on 127.0.0.1, the one address the conformance server's
//! preview blacklist lets through.

use std::net::SocketAddr;

use quotient::api::generated::{
    authed_content_repo::GetUrlPreviewAuthed, content_repo::GetUrlPreview,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::check::call;
use crate::fixture::account;

const TITLE: &str = "A page to preview";

/// Serves one small HTML page with Open Graph tags to at most `visits`
/// connections, then stops.
async fn page_server(visits: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..visits {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = format!(
                    "<html><head><meta property=\"og:title\" content=\"{TITLE}\">\
                     <meta property=\"og:description\" content=\"Served for the conformance run.\">\
                     <title>{TITLE}</title></head><body><p>Hello.</p></body></html>"
                );
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

pub async fn url_previews() {
    let me = account("previewer").await;
    let addr = page_server(8).await;

    let authed = call(
        &me.conn,
        GetUrlPreviewAuthed::new(format!("http://{addr}/page?via=v1")),
    )
    .await
    .unwrap();
    assert_eq!(authed.additional.get("og:title"), Some(&TITLE.into()));

    // A different URL, so Synapse's preview cache does not answer it.
    let legacy = call(
        &me.conn,
        GetUrlPreview::new(format!("http://{addr}/page?via=v3")),
    )
    .await
    .unwrap();
    assert_eq!(legacy.additional.get("og:title"), Some(&TITLE.into()));
}
