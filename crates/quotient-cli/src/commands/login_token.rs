//! `quotient login-token`

use std::time::{Duration, SystemTime};

use quotient::{LoginTokenOptions, LoginTokenUri, SecretString, StatusCode};

use crate::cli::LoginTokenArgs;
use crate::exit::{self, Failure};
use crate::reauth::PasswordPrompt;
use crate::store::Store;
use crate::terminal::{self, Output};

pub async fn run(store: &Store, out: &Output, args: LoginTokenArgs) -> Result<(), Failure> {
    let (conn, session) = store.connection()?;
    let mut waited = false;
    let token = loop {
        let mut handler = PasswordPrompt::new(
            session.user_id.as_str(),
            args.password_stdin,
            out.interactive,
        );
        let result = conn
            .generate_login_token_with(&mut handler, LoginTokenOptions::default())
            .await;
        let error = match result {
            Ok(token) => break token,
            Err(e) => e,
        };
        if let Some(failure) = handler.take_failure() {
            return Err(failure);
        }
        if error.status() == StatusCode::TooManyRequests {
            let wait = error.retry_after().unwrap_or(Duration::from_secs(60));
            let at = SystemTime::now() + wait;
            if out.interactive
                && !waited
                && terminal::confirm(
                    &format!(
                        "The server allows the next login token in {} s. Wait for it?",
                        wait.as_secs().max(1)
                    ),
                    true,
                )
            {
                terminal::countdown("Next token in", at).await;
                waited = true;
                continue;
            }
            return Err(Failure::new(
                exit::RATE_LIMITED,
                format!(
                    "rate limited: the next login token can be had in {} s (at {})",
                    wait.as_secs().max(1),
                    humantime::format_rfc3339_seconds(at)
                ),
            ));
        }
        return Err(Failure::from_error("cannot generate a login token", &error));
    };
    let handoff = LoginTokenUri::new(conn.homeserver().clone(), token.token);
    print_token(out, &args, &handoff, token.expires_in, token.expires_at).await;
    Ok(())
}

/// The URI carries the homeserver with the token (docs/login-token.md):
/// it is the plain output and what the QR code holds.
async fn print_token(
    out: &Output,
    args: &LoginTokenArgs,
    handoff: &LoginTokenUri,
    expires_in: Duration,
    expires_at: SystemTime,
) {
    let uri: SecretString = handoff.to_uri();
    let expires_at_text = humantime::format_rfc3339_seconds(expires_at).to_string();
    if out.json {
        out.print(
            serde_json::json!({
                "login_token": handoff.token.expose(),
                "homeserver": handoff.homeserver.as_str(),
                "uri": uri.expose(),
                "expires_in_ms": expires_in.as_millis() as u64,
                "expires_at": expires_at_text,
            }),
            String::new,
        );
        return;
    }
    if !out.fancy {
        // Piped: the URI alone on stdout, so that
        // `quotient login-token | quotient login --token-stdin` works.
        println!("{}", uri.expose());
        eprintln!("The login token expires at {expires_at_text}.");
        return;
    }
    println!("Login token (single use): {}", handoff.token.expose());
    println!("Sign-in URI (homeserver and token): {}", uri.expose());
    println!("On the new device: quotient login --token-stdin (paste the URI), or scan:");
    if !args.no_qr {
        if let Some(qr) = terminal::qr(uri.expose()) {
            println!("{qr}");
        }
    }
    terminal::countdown("Expires in", expires_at).await;
    println!("The token has expired; run `quotient login-token` again for a new one.");
}
