//! `quotient login --sso`: the browser part of single sign-on.

use std::process::{Command, Stdio};

use quotient::{Connection, Error, Session, SsoOptions};
use url::Url;

/// Starts the sign-in, shows the page to the user (a browser when there
/// is one, the URL always) and waits for the browser's return.
pub async fn sign_in(conn: &Connection, options: SsoOptions) -> Result<Session, Error> {
    let sso = conn.login_with_sso(options).await?;
    let opened = open_browser(sso.url());
    eprintln!(
        "{} {}",
        if opened {
            "Continue in the browser; if it did not open, open this page:"
        } else {
            "Open this page in a browser to sign in:"
        },
        sso.url()
    );
    eprintln!("Waiting for the browser to come back…");
    sso.finish().await
}

/// `$BROWSER URL`, else `xdg-open URL` when there is a display (on macOS
/// `open URL`); whether one was started.
fn open_browser(url: &Url) -> bool {
    let command = match std::env::var("BROWSER") {
        Ok(browser) if !browser.trim().is_empty() => browser,
        _ if cfg!(target_os = "macos") => "open".to_owned(),
        _ if std::env::var_os("DISPLAY").is_some()
            || std::env::var_os("WAYLAND_DISPLAY").is_some() =>
        {
            "xdg-open".to_owned()
        }
        _ => return false,
    };
    Command::new(command)
        .arg(url.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .is_ok()
}
