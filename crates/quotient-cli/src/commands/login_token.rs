//! `quotient login-token`

use std::time::{Duration, SystemTime};

use quotient::api::AuthData;
use quotient::{LoginTokenOptions, SecretString, StatusCode, UiaAnswer, UiaHandler, UiaStep};

use crate::cli::LoginTokenArgs;
use crate::exit::{self, Failure};
use crate::store::Store;
use crate::terminal::{self, Output};

/// Password prompts at a terminal before giving up.
const MAX_PROMPTS: usize = 3;

/// Answers UIA: the password from stdin (once) or the terminal (asking
/// again after a wrong one), dummy stages by itself.
struct CliHandler {
    user: String,
    from_stdin: bool,
    interactive: bool,
    prompts: usize,
    failure: Option<Failure>,
}

impl UiaHandler for CliHandler {
    fn supports(&self, stage: &str) -> bool {
        matches!(stage, "m.login.password" | "m.login.dummy")
    }

    async fn answer(&mut self, step: &UiaStep<'_>) -> UiaAnswer {
        match step.stage {
            "m.login.dummy" => UiaAnswer::Stage(AuthData::stage("m.login.dummy", None)),
            "m.login.password" => {
                if let Some(error) = step.previous_error() {
                    if self.from_stdin || self.prompts >= MAX_PROMPTS {
                        return UiaAnswer::Cancel;
                    }
                    eprintln!("The server said: {error}");
                }
                let password = if self.from_stdin {
                    terminal::secret_from_stdin("password", true)
                } else if self.interactive {
                    self.prompts += 1;
                    terminal::prompt_password(&format!("Password for {} (to confirm): ", self.user))
                } else {
                    Err(Failure::usage("the server asks for the password and there is no terminal: pass it with --password-stdin"))
                };
                match password {
                    Ok(password) => {
                        UiaAnswer::Stage(AuthData::password(&self.user, password, None))
                    }
                    Err(failure) => {
                        self.failure = Some(failure);
                        UiaAnswer::Cancel
                    }
                }
            }
            other => {
                let url = step
                    .fallback_url()
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                self.failure = Some(Failure::new(
                    exit::NOT_SUPPORTED,
                    format!("the server asks for `{other}`, which this client cannot do; complete it in a browser at {url} — or use another client"),
                ));
                UiaAnswer::Cancel
            }
        }
    }
}

pub async fn run(store: &Store, out: &Output, args: LoginTokenArgs) -> Result<(), Failure> {
    let (conn, session) = store.connection()?;
    let mut waited = false;
    let token = loop {
        let mut handler = CliHandler {
            user: session.user_id.to_string(),
            from_stdin: args.password_stdin,
            interactive: out.interactive,
            prompts: 0,
            failure: None,
        };
        let result = conn
            .generate_login_token_with(&mut handler, LoginTokenOptions::default())
            .await;
        let error = match result {
            Ok(token) => break token,
            Err(e) => e,
        };
        if let Some(failure) = handler.failure {
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
    print_token(out, &args, &token.token, token.expires_in, token.expires_at).await;
    Ok(())
}

async fn print_token(
    out: &Output,
    args: &LoginTokenArgs,
    token: &SecretString,
    expires_in: Duration,
    expires_at: SystemTime,
) {
    let expires_at_text = humantime::format_rfc3339_seconds(expires_at).to_string();
    if out.json {
        out.print(
            serde_json::json!({
                "login_token": token.expose(),
                "expires_in_ms": expires_in.as_millis() as u64,
                "expires_at": expires_at_text,
            }),
            String::new,
        );
        return;
    }
    if !out.fancy {
        // Piped: the token alone on the first line, for scripts.
        println!("{}", token.expose());
        println!("expires at {expires_at_text}");
        return;
    }
    println!("Login token (single use): {}", token.expose());
    println!("On the new device: quotient login --homeserver URL --token-stdin, or scan:");
    if !args.no_qr {
        if let Some(qr) = terminal::qr(token.expose()) {
            println!("{qr}");
        }
    }
    terminal::countdown("Expires in", expires_at).await;
    println!("The token has expired; run `quotient login-token` again for a new one.");
}
