//! Redirects: followed where the spec uses them (media downloads and
//! thumbnails, `.well-known`), within limits, without leaking the token;
//! refused everywhere else.

use quotient::StatusCode;
use serde_json::json;

use crate::support::*;

const TOKEN: &str = "Bearer syt_secret";

fn redirect(status: u16, location: &str) -> Reply {
    Reply::json(status, json!({})).with_header("Location", location)
}

fn media(id: &str) -> String {
    format!("{DOWNLOAD_PREFIX}{id}")
}

async fn signed_in(server: &FakeServer) -> quotient::Connection {
    let conn = server.connection();
    conn.set_access_token(Some("syt_secret".into()));
    conn
}

#[tokio::test]
async fn a_same_origin_media_redirect_is_followed_with_the_token() {
    let server = FakeServer::start().await;
    // A relative Location resolves against the URL that answered.
    server.push(&media("abc"), redirect(307, &media("moved")));
    server.push(&media("moved"), Reply::json(200, json!({"ok": true})));
    let conn = signed_in(&server).await;
    let job = conn.submit(Download { media_id: "abc" });
    let events = job.events();
    assert!(job.await.unwrap().ok);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.header("Authorization"), Some(TOKEN), "{}", r.target);
    }
    let sent = collect(events)
        .await
        .into_iter()
        .filter(|e| matches!(e, quotient::JobEvent::Sent { .. }))
        .count();
    assert_eq!(sent, 1, "one attempt, one Sent, however many hops");
}

#[tokio::test]
async fn a_cross_origin_media_redirect_drops_the_token() {
    let cdn = FakeServer::start().await;
    cdn.push("/cdn/abc", Reply::json(200, json!({"ok": true})));
    let server = FakeServer::start().await;
    server.push(
        &media("abc"),
        redirect(308, &format!("{}cdn/abc", cdn.url())),
    );
    let conn = signed_in(&server).await;
    assert!(conn.submit(Download { media_id: "abc" }).await.unwrap().ok);
    assert_eq!(server.requests()[0].header("Authorization"), Some(TOKEN));
    let at_cdn = cdn.requests();
    assert_eq!(at_cdn.len(), 1);
    assert_eq!(
        at_cdn[0].header("Authorization"),
        None,
        "the token stays with the homeserver"
    );
}

#[tokio::test]
async fn five_hops_are_followed_and_a_sixth_is_refused() {
    let server = FakeServer::start().await;
    for (i, status) in [301, 302, 303, 307, 308].into_iter().enumerate() {
        server.push(
            &media(&format!("h{i}")),
            redirect(status, &media(&format!("h{}", i + 1))),
        );
    }
    server.push(&media("h5"), Reply::json(200, json!({"ok": true})));
    let conn = signed_in(&server).await;
    assert!(conn.submit(Download { media_id: "h0" }).await.unwrap().ok);
    assert_eq!(server.requests().len(), 6);

    let server = FakeServer::start().await;
    for i in 0..6 {
        server.push(
            &media(&format!("h{i}")),
            redirect(307, &media(&format!("h{}", i + 1))),
        );
    }
    let conn = signed_in(&server).await;
    let err = conn.submit(Download { media_id: "h0" }).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert_eq!(err.http_status(), Some(307));
    assert!(err.message().contains("more than 5 times"), "{err}");
    assert_eq!(
        server.requests().len(),
        6,
        "the sixth redirect is not followed"
    );
}

#[tokio::test]
async fn a_redirect_to_plain_http_elsewhere_is_refused() {
    let server = FakeServer::start().await;
    server.push(
        &media("abc"),
        redirect(307, "http://cdn.example.org/abc?sig=secret"),
    );
    let conn = signed_in(&server).await;
    let err = conn.submit(Download { media_id: "abc" }).await.unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert_eq!(err.http_status(), Some(307));
    assert!(
        err.message().contains("plain http:// on cdn.example.org"),
        "{err}"
    );
    assert!(!err.to_string().contains("sig=secret"), "{err}");
}

#[tokio::test]
async fn a_redirect_on_another_endpoint_is_the_answer() {
    let elsewhere = FakeServer::start().await;
    let server = FakeServer::start().await;
    server.push(THING, redirect(307, &format!("{}x", elsewhere.url())));
    let err = server
        .connection()
        .submit(GetThing::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::IncorrectResponse);
    assert_eq!(err.http_status(), Some(307));
    assert!(elsewhere.requests().is_empty());
}
