//! `quotient recovery enable|restore|status` and `quotient backup
//! status|restore`: secret storage under a recovery key, and the
//! server-side key backup.

use std::io::IsTerminal;

use quotient::SecretString;
use quotient_client::Error;
use serde_json::json;

use crate::cli::{BackupAction, BackupArgs, RecoveryAction, RecoveryArgs};
use crate::client;
use crate::exit::{Failure, USAGE};
use crate::store::Store;
use crate::terminal::{self, Output};

/// A recovery error as a line and an exit code: a wrong key is invalid
/// input (2).
fn failure(what: &str, e: &Error) -> Failure {
    match e {
        Error::WrongRecoveryKey => Failure::new(USAGE, format!("{what}: {e}")),
        other => client::failure(what, other),
    }
}

/// A secret from the terminal, or stdin's first line when stdin is not
/// one (or `stdin` says so).
fn secret(what: &str, stdin: bool, confirm: bool) -> Result<SecretString, Failure> {
    if stdin || !std::io::stdin().is_terminal() {
        return terminal::secret_from_stdin(what, true);
    }
    let first = terminal::prompt_password(&format!("{what}: "))?;
    if first.is_empty() {
        return Err(Failure::usage(format!("an empty {what} opens nothing")));
    }
    if confirm && terminal::prompt_password(&format!("{what} again: "))? != first {
        return Err(Failure::usage(format!(
            "the two {what}s differ; nothing was changed"
        )));
    }
    Ok(first)
}

pub async fn run(store: &Store, out: &Output, args: RecoveryArgs) -> Result<(), Failure> {
    let client = client::open(store)?;
    match args.action {
        RecoveryAction::Enable {
            passphrase,
            passphrase_stdin,
        } => {
            let passphrase = passphrase
                .then(|| secret("passphrase", passphrase_stdin, true))
                .transpose()?;
            let key = {
                let _spin = out.spinner("setting up secret storage");
                client.enable_recovery(passphrase.as_ref()).await
            }
            .map_err(|e| failure("recovery was not set up", &e))?;
            if passphrase.is_some() {
                out.print(json!({"recovery_key": null}), || {
                    "Recovery is set up under your passphrase.".into()
                });
            } else {
                // The key goes to stdout only, once: it is not kept.
                out.print(json!({"recovery_key": key.expose()}), || {
                    format!(
                        "Your recovery key (keep it safe; it is shown only this once):\n{}",
                        key.expose()
                    )
                });
            }
        }
        RecoveryAction::Restore { passphrase } => {
            let what = if passphrase {
                "passphrase"
            } else {
                "recovery key"
            };
            let input = secret(what, false, false)?;
            let import = {
                let _spin = out.spinner("restoring from secret storage");
                client.restore_recovery(&input).await
            }
            .map_err(|e| failure("restore failed", &e))?;
            out.print(
                json!({"imported": import.imported, "total": import.total}),
                || {
                    format!(
                        "Restored: this device is cross-signed; {} of {} backed-up room keys were new here",
                        import.imported, import.total
                    )
                },
            );
        }
        RecoveryAction::Reset { password_stdin } => {
            let password = if password_stdin || !std::io::stdin().is_terminal() {
                terminal::secret_from_stdin("password", true)?
            } else {
                terminal::prompt_password("Account password: ")?
            };
            let key = {
                let _spin = out.spinner("resetting the encryption identity");
                client.reset_identity(&password).await
            }
            .map_err(|e| failure("the identity was not reset", &e))?;
            out.print(json!({"recovery_key": key.expose()}), || {
                format!(
                    "New cross-signing keys, key backup and recovery key. Verify your other devices again.\n\
                     Your new recovery key (shown only this once):\n{}",
                    key.expose()
                )
            });
        }
        RecoveryAction::Status => {
            let status = client
                .recovery_status()
                .await
                .map_err(|e| failure("cannot read secret storage", &e))?;
            out.print(
                json!({"enabled": status.enabled, "passphrase": status.passphrase, "secrets": status.secrets}),
                || {
                    if status.enabled {
                        format!(
                            "Recovery is set up{}; it holds: {}",
                            if status.passphrase { " (with a passphrase)" } else { "" },
                            status.secrets.join(", ")
                        )
                    } else {
                        "Recovery is not set up: run `quotient recovery enable`".into()
                    }
                },
            );
        }
    }
    Ok(())
}

pub async fn backup(store: &Store, out: &Output, args: BackupArgs) -> Result<(), Failure> {
    let client = client::open(store)?;
    match args.action {
        BackupAction::Status => {
            let s = client
                .backup_status()
                .await
                .map_err(|e| failure("cannot read the key backup", &e))?;
            out.print(
                json!({
                    "version": s.version, "server_count": s.server_count, "trusted": s.trusted,
                    "has_key": s.has_key, "uploading": s.uploading,
                    "keys_local": s.keys_local, "keys_backed_up": s.keys_backed_up,
                }),
                || match &s.version {
                    None => "The account has no key backup".into(),
                    Some(v) => format!(
                        "Key backup version {v}: {} keys on the server; {}trusted; this device {} its key{}\n\
                         Room keys here: {}, backed up: {}",
                        s.server_count.unwrap_or(0),
                        if s.trusted { "" } else { "not " },
                        if s.has_key { "holds" } else { "does not hold" },
                        if s.uploading { " and uploads to it" } else { "" },
                        s.keys_local,
                        s.keys_backed_up
                    ),
                },
            );
        }
        BackupAction::Restore => {
            let import = {
                let _spin = out.spinner("restoring room keys from the backup");
                client.restore_backup().await
            }
            .map_err(|e| failure("restore failed", &e))?;
            out.print(
                json!({"imported": import.imported, "total": import.total}),
                || {
                    format!(
                        "Restored {} new room keys of {} in the backup",
                        import.imported, import.total
                    )
                },
            );
        }
    }
    Ok(())
}
