//! `quotient upload` and `quotient download`, through the client's media
//! module, with a progress bar on a terminal. `download ROOM EVENT`
//! decrypts a file of an encrypted room.

use std::io::IsTerminal as _;

use quotient::JobEvent;
use quotient_api::EventId;
use quotient_client::media::{Downloaded, FileSource, MxcUri};
use quotient_client::{Client, Error};
use serde_json::json;

use crate::cli::{DownloadArgs, UploadArgs};
use crate::client;
use crate::exit::{Failure, NOT_SUPPORTED, OTHER};
use crate::store::Store as SessionStore;
use crate::terminal::Output;

/// A client for transfers only: the room store is not needed, so it is
/// not opened (an upload works while another `quotient` syncs).
fn media_client(store: &SessionStore) -> Result<Client, Failure> {
    let (conn, _) = store.connection()?;
    Client::in_memory(conn).map_err(|e| client::failure("cannot start the client", &e))
}

/// A media error as a line and an exit code: over the server's limit is
/// "the server does not allow it" (3); files and writers are 1.
fn failure(what: &str, e: &Error) -> Failure {
    match e {
        Error::TooLarge { .. } => Failure::new(NOT_SUPPORTED, format!("{what}: {e}")),
        Error::File { .. }
        | Error::Read(_)
        | Error::Write(_)
        | Error::DownloadCut { .. }
        | Error::FileHashMismatch
        | Error::EncryptedFile(_)
        | Error::Undecryptable { .. }
        | Error::NoFile { .. } => Failure::new(OTHER, format!("{what}: {e}")),
        other => client::failure(what, other),
    }
}

/// A progress bar on stderr, only when stderr is a terminal and the output
/// is not JSON; it follows the job's events until they end.
fn progress(out: &Output, events: quotient::JobEvents, label: &str) -> Progress {
    let Some(bar) = transfer_bar(out, label) else {
        return Progress(None);
    };
    let task = tokio::spawn(async move {
        let mut events = events;
        while let Some(event) = events.next().await {
            match event {
                JobEvent::UploadProgress { sent, total } => {
                    bar.set_length(total);
                    bar.set_position(sent);
                }
                JobEvent::DownloadProgress { received, total } => {
                    if let Some(total) = total {
                        bar.set_length(total);
                    }
                    bar.set_position(received);
                }
                _ => {}
            }
        }
        bar.finish_and_clear();
    });
    Progress(Some(task))
}

/// A transfer's progress bar on stderr, only when stderr is a terminal
/// and the output is not JSON.
pub fn transfer_bar(out: &Output, label: &str) -> Option<indicatif::ProgressBar> {
    if out.json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(label.to_owned());
    Some(bar)
}

struct Progress(Option<tokio::task::JoinHandle<()>>);

impl Progress {
    /// Waits for the bar to be cleared (the job's events have ended), so
    /// that what is printed next starts on a clean line.
    async fn done(self) {
        if let Some(task) = self.0 {
            let _ = task.await;
        }
    }
}

pub async fn upload(store: &SessionStore, out: &Output, args: UploadArgs) -> Result<(), Failure> {
    let client = media_client(store)?;
    let upload = client
        .media()
        .upload_file(&args.path, args.content_type.as_deref())
        .await
        .map_err(|e| failure("upload failed", &e))?;
    let bar = progress(out, upload.events(), "uploading");
    let result = upload.await;
    bar.done().await;
    let uploaded = result.map_err(|e| failure("upload failed", &e))?;
    out.print(
        json!({
            "content_uri": uploaded.content_uri.as_str(),
            "size": uploaded.size,
            "content_type": uploaded.content_type,
        }),
        || uploaded.content_uri.to_string(),
    );
    Ok(())
}

pub async fn download(
    store: &SessionStore,
    out: &Output,
    args: DownloadArgs,
) -> Result<(), Failure> {
    if args.output.is_none() {
        if out.json {
            return Err(Failure::usage(
                "--json prints the result on stdout, so the media needs -o FILE",
            ));
        }
        if std::io::stdout().is_terminal() {
            return Err(Failure::usage(
                "refusing to write media to a terminal: give -o FILE or redirect stdout",
            ));
        }
    }
    let is_uri = args.target.starts_with("mxc://");
    match (is_uri, args.event.as_deref()) {
        (true, None) if args.thumbnail => Err(Failure::usage(
            "--thumbnail needs ROOM EVENT (a message's thumbnail), not a content URI",
        )),
        (true, None) => {
            let uri = MxcUri::parse(args.target.as_str()).map_err(|e| {
                Failure::usage(format!(
                    "`{}` is not a content URI (mxc://server/media_id): {e}",
                    args.target
                ))
            })?;
            let client = media_client(store)?;
            let downloaded = plain(&client, out, &uri, args.output.as_deref()).await?;
            report(out, &args, None, uri.as_str(), false, &downloaded);
            Ok(())
        }
        (true, Some(_)) => Err(Failure::usage(
            "a content URI takes no EVENT: give either mxc://… or ROOM EVENT",
        )),
        (false, None) => Err(Failure::usage(format!(
            "`{}` is not a content URI (mxc://server/media_id); to download a message's file, \
             give ROOM EVENT",
            args.target
        ))),
        (false, Some(event)) => from_event(store, out, &args, event).await,
    }
}

/// `download ROOM EVENT`: the message's file, decrypted if encrypted.
async fn from_event(
    store: &SessionStore,
    out: &Output,
    args: &DownloadArgs,
    event: &str,
) -> Result<(), Failure> {
    let event_id = EventId::parse(event)
        .map_err(|e| Failure::usage(format!("`{event}` is not an event ID ($…): {e}")))?;
    let client = client::open(store)?;
    let room_id = client::resolve(&client, &args.target)?;
    let source = client
        .event_file(&room_id, &event_id, args.thumbnail)
        .await
        .map_err(|e| failure("download failed", &e))?;
    let downloaded = match &source {
        FileSource::Plain(uri) => plain(&client, out, uri, args.output.as_deref()).await?,
        FileSource::Encrypted(file) => {
            let _spin = out.spinner("downloading and decrypting");
            let media = client.media();
            match &args.output {
                Some(path) => media.download_encrypted_to_path(file, path).await,
                None => {
                    media
                        .download_encrypted_to_writer(file, &mut tokio::io::stdout())
                        .await
                }
            }
            .map_err(|e| failure("download failed", &e))?
        }
    };
    let encrypted = matches!(source, FileSource::Encrypted(_));
    report(
        out,
        args,
        Some((room_id.as_str(), event)),
        source.uri().as_str(),
        encrypted,
        &downloaded,
    );
    Ok(())
}

/// Plain media at `uri` to `output` or stdout, with a progress bar.
async fn plain(
    client: &Client,
    out: &Output,
    uri: &MxcUri,
    output: Option<&std::path::Path>,
) -> Result<Downloaded, Failure> {
    let download = client
        .media()
        .download(uri)
        .await
        .map_err(|e| failure("download failed", &e))?;
    let bar = progress(out, download.events(), "downloading");
    let result = match output {
        Some(path) => download.to_path(path).await,
        None => download.to_writer(&mut tokio::io::stdout()).await,
    };
    bar.done().await;
    result.map_err(|e| failure("download failed", &e))
}

/// What was saved, when it went to a file (stdout holds the media
/// otherwise).
fn report(
    out: &Output,
    args: &DownloadArgs,
    event: Option<(&str, &str)>,
    uri: &str,
    encrypted: bool,
    downloaded: &Downloaded,
) {
    let Some(path) = &args.output else {
        return;
    };
    let mut json = json!({
        "content_uri": uri,
        "path": path.display().to_string(),
        "size": downloaded.size,
        "content_type": downloaded.content_type,
        "encrypted": encrypted,
    });
    if let Some((room, event)) = event {
        json["room_id"] = room.into();
        json["event_id"] = event.into();
    }
    out.print(json, || {
        format!(
            "Saved {} bytes ({}) to {}",
            downloaded.size,
            match (&downloaded.content_type, encrypted) {
                (_, true) => "decrypted, hash checked",
                (Some(t), false) => t.as_str(),
                (None, false) => "unknown type",
            },
            path.display()
        )
    });
}
