//! Talking to a person: prompts, spinners, countdowns, QR codes — only on
//! a terminal and never in `--json` mode.

use std::io::{BufRead as _, IsTerminal as _, Read as _, Write as _};
use std::time::{Duration, SystemTime};

use quotient::SecretString;

use crate::exit::Failure;

pub struct Output {
    pub json: bool,
    /// stdout is a terminal and `--json` is off: decorations allowed.
    pub fancy: bool,
    /// stdin and stderr are terminals: we can ask.
    pub interactive: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        let fancy = !json && std::io::stdout().is_terminal();
        let interactive =
            !json && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        Self {
            json,
            fancy,
            interactive,
        }
    }

    /// Prints a JSON value (in `--json` mode) or the text.
    pub fn print(&self, json: serde_json::Value, text: impl FnOnce() -> String) {
        if self.json {
            println!("{json}");
        } else {
            println!("{}", text());
        }
    }

    /// A spinner on stderr for waits over 300 ms, only on a terminal.
    pub fn spinner(&self, label: &str) -> Spinner {
        let task = (!self.json && std::io::stderr().is_terminal()).then(|| {
            let label = label.to_owned();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
                for i in 0.. {
                    eprint!("\r{} {label}", frames[i % frames.len()]);
                    let _ = std::io::stderr().flush();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        });
        Spinner { task }
    }
}

pub struct Spinner {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}

/// Reads a secret from stdin: the whole input for tokens, the first line
/// for passwords; surrounding whitespace is dropped.
pub fn secret_from_stdin(what: &str, first_line_only: bool) -> Result<SecretString, Failure> {
    let mut text = String::new();
    let read = if first_line_only {
        std::io::stdin().lock().read_line(&mut text)
    } else {
        std::io::stdin().read_to_string(&mut text)
    };
    read.map_err(|e| Failure::usage(format!("cannot read the {what} from stdin: {e}")))?;
    let secret = SecretString::new(text.trim().to_owned());
    zeroize_string(&mut text);
    if secret.is_empty() {
        return Err(Failure::usage(format!("no {what} on stdin")));
    }
    Ok(secret)
}

fn zeroize_string(s: &mut String) {
    // Moving the buffer into a SecretString zeroes it when dropped.
    drop(SecretString::new(std::mem::take(s)));
}

/// Asks for a password without echo, on the terminal.
pub fn prompt_password(prompt: &str) -> Result<SecretString, Failure> {
    rpassword::prompt_password(prompt)
        .map(SecretString::new)
        .map_err(|e| Failure::usage(format!("cannot read the password: {e}")))
}

/// Asks a yes/no question on stderr; Enter means `default`.
pub fn confirm(question: &str, default: bool) -> bool {
    eprint!("{question} [{}] ", if default { "Y/n" } else { "y/N" });
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    match answer.trim().to_ascii_lowercase().as_str() {
        "" => default,
        a => a.starts_with('y'),
    }
}

pub fn mmss(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// Counts down to `until` on one line of stdout, once a second.
pub async fn countdown(label: &str, until: SystemTime) {
    loop {
        let left = until.duration_since(SystemTime::now()).unwrap_or_default();
        print!("\r\x1b[2K{label} {}", mmss(left));
        let _ = std::io::stdout().flush();
        if left.is_zero() {
            println!();
            return;
        }
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
    }
}

/// The QR code of `text`, drawn with half-block characters.
pub fn qr(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}
