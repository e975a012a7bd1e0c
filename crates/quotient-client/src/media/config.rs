//! What the server says about its content repository: the upload size
//! limit, and whether it serves authenticated media.

#![allow(deprecated)] // the legacy endpoints are used only for older servers

use quotient::{Connection, StatusCode};
use quotient_api::generated::authed_content_repo::GetConfigAuthed;
use quotient_api::generated::content_repo::GetConfig;

use crate::error::{request_error, Result};

/// The spec release that added authenticated media
/// (`/_matrix/client/v1/media/…`).
pub(crate) const AUTHENTICATED_MEDIA_SINCE: &str = "v1.11";

/// The content repository's configuration, fetched once per client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaConfig {
    /// The largest upload the server accepts, in bytes (`m.upload.size`);
    /// `None` when the server does not say.
    pub upload_size: Option<u64>,
    /// Whether the server serves authenticated media (it advertises spec
    /// v1.11 or later in `/versions`). If not, downloads, thumbnails and
    /// this configuration use the legacy `/_matrix/media/v3` paths.
    pub authenticated: bool,
}

/// Whether `conn`'s server has authenticated media, by its `/versions`
/// (cached by the connection). The decision is made on the advertised
/// version only, never by trying: a server that advertises v1.11 must
/// serve `/_matrix/client/v1/media`, and one that does not is not sent
/// the token-bearing requests it may not know.
pub(crate) async fn authenticated_media(conn: &Connection) -> Result<bool> {
    let versions = conn.versions().await.map_err(request_error)?;
    Ok(versions.supports(AUTHENTICATED_MEDIA_SINCE))
}

/// Fetches the configuration: `GET /_matrix/client/v1/media/config`, or
/// the legacy `/_matrix/media/v3/config` on an older server. A server that
/// answers 404 or `M_UNRECOGNIZED` has no limit to tell.
pub(crate) async fn fetch(conn: &Connection) -> Result<MediaConfig> {
    let authenticated = authenticated_media(conn).await?;
    let answer = if authenticated {
        conn.submit(GetConfigAuthed::new())
            .await
            .map(|r| r.into_value().m_upload_size)
    } else {
        conn.submit(GetConfig::new())
            .await
            .map(|r| r.into_value().m_upload_size)
    };
    let upload_size = match answer {
        // A negative size is nonsense: treated as not said.
        Ok(size) => size.and_then(|s| u64::try_from(s).ok()),
        Err(e)
            if matches!(
                e.status(),
                StatusCode::NotFound | StatusCode::RequestNotImplemented
            ) =>
        {
            None
        }
        Err(e) => return Err(request_error(e)),
    };
    Ok(MediaConfig {
        upload_size,
        authenticated,
    })
}
