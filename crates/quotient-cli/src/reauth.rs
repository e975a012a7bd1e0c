//! Re-authentication for operations behind UIA (login tokens, deleting
//! a device): the password from stdin or a hidden prompt.

use quotient::api::AuthData;
use quotient::{UiaAnswer, UiaHandler, UiaStep};

use crate::exit::{self, Failure};
use crate::terminal;

/// Password prompts at a terminal before giving up.
const MAX_PROMPTS: usize = 3;

/// Answers UIA: the password from stdin (once) or the terminal (asking
/// again after a wrong one), dummy stages by itself.
pub struct PasswordPrompt {
    user: String,
    from_stdin: bool,
    interactive: bool,
    prompts: usize,
    failure: Option<Failure>,
}

impl UiaHandler for PasswordPrompt {
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

impl PasswordPrompt {
    /// For `user`; `from_stdin` is `--password-stdin`, `interactive`
    /// whether there is a terminal to ask on.
    pub fn new(user: &str, from_stdin: bool, interactive: bool) -> Self {
        Self {
            user: user.to_owned(),
            from_stdin,
            interactive,
            prompts: 0,
            failure: None,
        }
    }

    /// Why the handler gave up, when that is the CLI's own reason (no
    /// terminal, a stage it cannot do) rather than the server's.
    pub fn take_failure(&mut self) -> Option<Failure> {
        self.failure.take()
    }
}
