//! `quotient keys export FILE` and `quotient keys import FILE`: room keys
//! in and out of the standard key export file, under a passphrase from a
//! prompt or stdin.

use quotient::SecretString;
use quotient_client::Error;
use serde_json::json;

use crate::cli::{KeysAction, KeysArgs};
use crate::client;
use crate::exit::{Failure, USAGE};
use crate::store::Store;
use crate::terminal::{self, Output};

/// A key-file error as a line and an exit code: a wrong passphrase or a
/// file that is not an export is invalid input (2).
fn failure(what: &str, e: &Error) -> Failure {
    match e {
        Error::KeyExport { .. } => Failure::new(USAGE, format!("{what}: {e}")),
        Error::File { .. } => Failure::new(crate::exit::OTHER, format!("{what}: {e}")),
        other => client::failure(what, other),
    }
}

/// The passphrase: stdin's first line, or asked on the terminal (twice
/// when `confirm`, for an export).
fn passphrase(out: &Output, stdin: bool, confirm: bool) -> Result<SecretString, Failure> {
    if stdin {
        return terminal::secret_from_stdin("passphrase", true);
    }
    if !out.interactive {
        return Err(Failure::usage(
            "no terminal to ask for the passphrase on: pass it with --passphrase-stdin",
        ));
    }
    let first = terminal::prompt_password("Passphrase: ")?;
    if first.is_empty() {
        return Err(Failure::usage("an empty passphrase protects nothing"));
    }
    if confirm && terminal::prompt_password("Passphrase again: ")? != first {
        return Err(Failure::usage(
            "the two passphrases differ; nothing was written",
        ));
    }
    Ok(first)
}

pub async fn run(store: &Store, out: &Output, args: KeysArgs) -> Result<(), Failure> {
    match args.action {
        KeysAction::Export {
            file,
            passphrase_stdin,
        } => {
            let passphrase = passphrase(out, passphrase_stdin, true)?;
            let client = client::open(store)?;
            let exported = {
                let _spin = out.spinner("exporting room keys");
                client.export_room_keys(&file, &passphrase).await
            }
            .map_err(|e| failure("key export failed", &e))?;
            out.print(
                json!({"path": file.display().to_string(), "exported": exported}),
                || format!("Exported {exported} room keys to {}", file.display()),
            );
        }
        KeysAction::Import {
            file,
            passphrase_stdin,
        } => {
            let passphrase = passphrase(out, passphrase_stdin, false)?;
            let client = client::open(store)?;
            let import = {
                let _spin = out.spinner("importing room keys");
                client.import_room_keys(&file, &passphrase).await
            }
            .map_err(|e| failure("key import failed", &e))?;
            out.print(
                json!({
                    "path": file.display().to_string(),
                    "imported": import.imported,
                    "total": import.total,
                }),
                || {
                    format!(
                        "Imported {} of the {} room keys in {}",
                        import.imported,
                        import.total,
                        file.display()
                    )
                },
            );
        }
    }
    Ok(())
}
