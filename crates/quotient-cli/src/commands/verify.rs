//! `quotient verify [USER [DEVICE]]` and `quotient verify --accept`:
//! interactive verification by emoji, while the client syncs.
//!
//! The emoji are shown first and only then is the question asked: on a
//! terminal as a prompt, with `--json` as one line per step and `yes` or
//! `no` read from stdin. A cancel from the other side ends the command
//! by itself, whatever it was waiting for.

use std::time::Duration;

use quotient_client::verification::{Verification, VerificationState};
use quotient_client::Client;
use serde_json::json;
use tokio::io::AsyncBufReadExt;

use crate::cli::VerifyArgs;
use crate::client;
use crate::exit::{Failure, OTHER};
use crate::store::Store;
use crate::terminal::Output;

/// How long a new device waits for its own verified device's secrets.
const SECRETS_WAIT: Duration = Duration::from_secs(30);

pub async fn run(store: &Store, out: &Output, args: VerifyArgs) -> Result<(), Failure> {
    let limit = Duration::from_secs(args.timeout);
    let (_, session) = store.connection()?;
    let client = client::open(store)?;
    let sync = client.start_sync_loop();
    let result = tokio::select! {
        r = verify(&client, out, &args, session.user_id.as_str(), limit) => r,
        () = client::shutdown() => Err(Failure::new(OTHER, "interrupted; the flow was left to time out")),
    };
    let stopped = sync.stop().await;
    result?;
    stopped.map_err(|e| client::failure("syncing failed", &e))
}

async fn verify(
    client: &Client,
    out: &Output,
    args: &VerifyArgs,
    own_user: &str,
    limit: Duration,
) -> Result<(), Failure> {
    let flow = if args.accept {
        let flow = client
            .next_verification_request(limit)
            .await
            .map_err(|e| client::failure("cannot wait for a request", &e))?
            .ok_or_else(|| {
                Failure::new(
                    OTHER,
                    format!("no verification request came within {} s", args.timeout),
                )
            })?;
        flow.accept()
            .await
            .map_err(|e| client::failure("cannot answer the request", &e))?;
        flow
    } else {
        let user = args.user.as_deref().unwrap_or(own_user);
        let user = quotient_api::UserId::parse(user)
            .map_err(|e| Failure::usage(format!("not a user ID: {user}: {e}")))?;
        client
            .request_verification(&user, args.device.as_deref())
            .await
            .map_err(|e| client::failure("cannot ask for verification", &e))?
    };
    let outcome = tokio::time::timeout(limit, follow(out, &flow)).await;
    let state = match outcome {
        Ok(state) => state?,
        Err(_) => {
            let _ = flow.cancel().await;
            return Err(Failure::new(
                OTHER,
                format!(
                    "the verification did not end within {} s; it was cancelled",
                    args.timeout
                ),
            ));
        }
    };
    match state {
        VerificationState::Done => {
            if flow.is_self_verification() {
                let held = client
                    .secrets()
                    .await
                    .map_err(|e| client::failure("cannot read the secrets", &e))?;
                if held.cross_signing_keys {
                    // This device holds the secrets: the other one asks
                    // for them as soon as it is done; answer it.
                    let _ = flow.answer_secret_requests(SECRETS_WAIT).await;
                } else {
                    wait_for_secrets(client, out).await?;
                }
            }
            Ok(())
        }
        VerificationState::Cancelled(why) => Err(Failure::new(
            OTHER,
            if why.by_us {
                format!("verification cancelled ({}): {}", why.code, why.reason)
            } else {
                format!(
                    "the other side cancelled the verification ({}): {}",
                    why.code, why.reason
                )
            },
        )),
        _ => Err(Failure::new(OTHER, "the verification ended early")),
    }
}

/// Prints each state, asks at the comparison, and returns the final state.
async fn follow(out: &Output, flow: &Verification) -> Result<VerificationState, Failure> {
    let mut states = flow.states();
    let mut answer = None;
    loop {
        let state = tokio::select! {
            state = states.next() => state,
            said = async { answer.as_mut().expect("set").await }, if answer.is_some() => {
                answer = None;
                let yes: bool = said?;
                let step = if yes { flow.confirm().await } else { flow.mismatch().await };
                step.map_err(|e| client::failure("cannot answer", &e))?;
                continue;
            }
        };
        let Some(state) = state else {
            return Ok(flow.state());
        };
        print_state(out, flow, &state);
        if let VerificationState::Compare(_) = state {
            answer = Some(Box::pin(ask(out.json)));
        }
        if state.is_final() {
            return Ok(state);
        }
    }
}

fn print_state(out: &Output, flow: &Verification, state: &VerificationState) {
    let mut line = json!({
        "step": state.step(),
        "flow_id": flow.flow_id(),
        "user_id": flow.other_user().as_str(),
        "device_id": flow.other_device(),
    });
    let text = match state {
        VerificationState::Requested if flow.we_started() => {
            "Asked; waiting for the other device to answer…".to_owned()
        }
        VerificationState::Requested => format!(
            "{} ({}) asks to verify",
            flow.other_user(),
            flow.other_device().unwrap_or_default()
        ),
        VerificationState::Ready => "Both sides ready; exchanging keys…".into(),
        VerificationState::Started => "Keys being exchanged…".into(),
        VerificationState::Compare(code) => {
            line["emoji"] = code
                .emoji()
                .iter()
                .map(|e| json!({"number": e.number, "symbol": e.symbol, "name": e.name}))
                .collect();
            let (a, b, c) = code.decimals();
            line["decimals"] = json!([a, b, c]);
            let symbols: Vec<String> = code
                .emoji()
                .iter()
                .map(|e| format!("{:^10}", e.symbol))
                .collect();
            let names: Vec<String> = code
                .emoji()
                .iter()
                .map(|e| format!("{:^10}", e.name))
                .collect();
            format!(
                "Compare these emoji with the other device:\n{}\n{}\n(or the numbers {a} {b} {c})",
                symbols.join(""),
                names.join("")
            )
        }
        VerificationState::Confirmed => "Confirmed; waiting for the other side…".into(),
        VerificationState::Done => format!(
            "Verified: {} {}",
            flow.other_user(),
            flow.other_device().unwrap_or_default()
        ),
        VerificationState::Cancelled(why) => {
            line["code"] = json!(why.code);
            line["reason"] = json!(why.reason);
            line["by_us"] = json!(why.by_us);
            format!("Cancelled: {}", why.reason)
        }
    };
    out.print(line, || text);
}

/// Reads the answer to "do they match?": `yes` or `no` from stdin (with
/// `--json`), or a prompt on the terminal.
async fn ask(json: bool) -> Result<bool, Failure> {
    if !json {
        eprint!("Do the emoji match? [y/n] ");
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        let line = lines
            .next_line()
            .await
            .map_err(|e| Failure::usage(format!("cannot read the answer: {e}")))?;
        let Some(line) = line else {
            return Err(Failure::usage(
                "stdin ended before the answer (yes or no) came",
            ));
        };
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => return Ok(true),
            "n" | "no" => return Ok(false),
            _ if !json => eprint!("Please answer y or n: "),
            _ => {}
        }
    }
}

/// After verifying one of this user's own devices: a device without the
/// cross-signing keys waits (bounded) for them to be sent.
async fn wait_for_secrets(client: &Client, out: &Output) -> Result<(), Failure> {
    let secrets = client
        .wait_for_secrets(SECRETS_WAIT)
        .await
        .map_err(|e| client::failure("cannot read the secrets", &e))?;
    out.print(
        json!({
            "step": "secrets",
            "cross_signing_keys": secrets.cross_signing_keys,
            "backup_key": secrets.backup_key,
        }),
        || {
            format!(
                "Cross-signing keys on this device: {}; key backup key: {}",
                yes_no(secrets.cross_signing_keys),
                yes_no(secrets.backup_key)
            )
        },
    );
    Ok(())
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
