//! The content repository: upload (v3, and the asynchronous create +
//! upload), authenticated download and thumbnails (v1), the legacy v3
//! download, thumbnail and config, and the v1 config.

use quotient::api::generated::{
    authed_content_repo::GetConfigAuthed, authed_content_repo::GetContentAuthed,
    authed_content_repo::GetContentOverrideNameAuthed,
    authed_content_repo::GetContentThumbnailAuthed, content_repo::CreateContent,
    content_repo::GetConfig, content_repo::GetContent, content_repo::GetContentOverrideName,
    content_repo::GetContentThumbnail, content_repo::UploadContent,
    content_repo::UploadContentToMXC,
};
use quotient::api::{MxcUri, ServerName};

use crate::check::{call, call_media};
use crate::fixture::account;

/// Server name and media ID of an `mxc://` URI.
fn parts(uri: &MxcUri) -> (ServerName, String) {
    let text = uri.to_string();
    let (server, id) = text
        .strip_prefix("mxc://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or_else(|| panic!("not an mxc URI: {text}"));
    (server.parse().unwrap(), id.to_owned())
}

pub async fn upload_and_download() {
    let me = account("uploader").await;
    let image = crate::png::png(64, 48);
    let mut upload = UploadContent::new(image.clone().into());
    upload.content_type = Some("image/png".into());
    upload.filename = Some("picture.png".into());
    let uri = call(&me.conn, upload).await.unwrap().content_uri;
    let (server, id) = parts(&uri);

    let got = call_media(&me.conn, GetContentAuthed::new(server.clone(), id.clone())).await;
    assert_eq!(got.data, image);
    assert_eq!(got.content_type.as_deref(), Some("image/png"));
    let named = GetContentOverrideNameAuthed::new(server.clone(), id.clone(), "other.png".into());
    let named = call_media(&me.conn, named).await;
    assert!(named
        .content_disposition
        .unwrap_or_default()
        .contains("other.png"));
    let mut thumb = GetContentThumbnailAuthed::new(server.clone(), id.clone(), 32, 32);
    thumb.method = Some("scale".into());
    let thumb = call_media(&me.conn, thumb).await;
    assert!(
        thumb.data.starts_with(b"\x89PNG") || thumb.data.starts_with(b"\xff\xd8"),
        "an image"
    );

    // The legacy, unauthenticated endpoints (served with authenticated
    // media switched off on this server).
    let legacy = call_media(&me.conn, GetContent::new(server.clone(), id.clone())).await;
    assert_eq!(legacy.data, image);
    let legacy = GetContentOverrideName::new(server.clone(), id.clone(), "legacy.png".into());
    assert_eq!(call_media(&me.conn, legacy).await.data, image);
    let mut thumb = GetContentThumbnail::new(server.clone(), id.clone(), 16, 16);
    thumb.method = Some("crop".into());
    assert!(!call_media(&me.conn, thumb).await.data.is_empty());

    let limits = call(&me.conn, GetConfigAuthed::new()).await.unwrap();
    assert!(limits.m_upload_size.unwrap_or(0) > 0);
    let limits = call(&me.conn, GetConfig::new()).await.unwrap();
    assert!(limits.m_upload_size.unwrap_or(0) > 0);

    // Asynchronous upload: an mxc URI first, the bytes later.
    let created = call(&me.conn, CreateContent::new()).await.unwrap();
    assert!(created.unused_expires_at.unwrap_or(0) > 0);
    let (server, id) = parts(&created.content_uri);
    let mut later = UploadContentToMXC::new(
        server.clone(),
        id.clone(),
        quotient_api::Bytes::from_static(b"hello, later"),
    );
    later.content_type = Some("text/plain".into());
    later.filename = Some("later.txt".into());
    call(&me.conn, later).await.unwrap();
    let got = call_media(&me.conn, GetContentAuthed::new(server, id)).await;
    assert_eq!(got.data, b"hello, later");
}
