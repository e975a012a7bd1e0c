//! `quotient`: a Matrix command-line client over the quotient library.

mod cli;
mod client;
mod commands;
mod exit;
mod reauth;
mod store;
mod terminal;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use quotient::{BackoffStrategy, Connection, JobOptions};
use url::Url;

use cli::{Cli, Command};
use exit::Failure;
use store::Store;

/// Job options for a person waiting at a terminal: fewer, shorter retries
/// than the library's default, so an unreachable server fails in seconds.
fn job_options() -> JobOptions {
    JobOptions {
        backoff: BackoffStrategy {
            retry_waits: vec![Duration::from_secs(1), Duration::from_secs(2)],
            max_retries: 2,
            ..BackoffStrategy::default()
        },
        ..JobOptions::default()
    }
}

/// `--allow-insecure-http`, set once at start.
static ALLOW_INSECURE_HTTP: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

pub(crate) fn connect(homeserver: Url) -> Result<Connection, Failure> {
    Connection::builder(homeserver)
        .allow_insecure_http(ALLOW_INSECURE_HTTP.load(std::sync::atomic::Ordering::Relaxed))
        .connect_timeout(Duration::from_secs(5))
        .job_options(job_options())
        .user_agent(concat!("quotient-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::new(exit::code_for(&e), e.message().to_owned()))
}

pub(crate) fn parse_homeserver(raw: &str) -> Result<Url, Failure> {
    let url = Url::parse(raw).map_err(|e| {
        Failure::usage(format!(
            "`{raw}` is not a homeserver URL: {e} (try https://…)"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Failure::usage(format!(
            "`{raw}` is not a homeserver URL: it needs http:// or https:// and a host"
        )));
    }
    Ok(url)
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| {
            let level = match verbose {
                0 => LevelFilter::WARN,
                1 => LevelFilter::DEBUG,
                _ => LevelFilter::TRACE,
            };
            Targets::new()
                .with_target("quotient", level)
                .with_default(LevelFilter::WARN)
        });
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .with(filter)
        .try_init();
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let store = Store::new(cli.store.clone())?;
    let out = terminal::Output::new(cli.json);
    client::set_device_trust(cli.device_trust);
    match cli.command {
        Command::Login(args) => commands::login::run(&store, &out, args).await,
        Command::LoginToken(args) => commands::login_token::run(&store, &out, args).await,
        Command::Whoami => commands::session::whoami(&store, &out).await,
        Command::Logout(args) => commands::session::logout(&store, &out, args).await,
        Command::Devices(args) => commands::devices::run(&store, &out, args).await,
        Command::Server(args) => commands::server::run(&store, &out, args).await,
        Command::Api(args) => commands::api::run(&store, &out, args).await,
        Command::Sync(args) => commands::sync::sync(&store, &out, args).await,
        Command::Rooms => commands::rooms::list(&store, &out).await,
        Command::Room(args) => commands::rooms::show(&store, &out, args).await,
        Command::Messages(args) => commands::messages::run(&store, &out, args).await,
        Command::Tail(args) => commands::sync::tail(&store, &out, args).await,
        Command::Join(args) => commands::membership::join(&store, &out, args).await,
        Command::Leave(args) => commands::membership::leave(&store, &out, args).await,
        Command::Invite(args) => commands::membership::invite(&store, &out, args).await,
        Command::CreateRoom(args) => commands::membership::create(&store, &out, args).await,
        Command::Send(args) => commands::send::send(&store, &out, args).await,
        Command::React(args) => commands::send::react(&store, &out, args).await,
        Command::Edit(args) => commands::send::edit(&store, &out, args).await,
        Command::Redact(args) => commands::send::redact(&store, &out, args).await,
        Command::Outbox(args) => commands::send::outbox(&store, &out, args).await,
        Command::Upload(args) => commands::media::upload(&store, &out, args).await,
        Command::Download(args) => commands::media::download(&store, &out, args).await,
        Command::Keys(args) => commands::keys::run(&store, &out, args).await,
        Command::Verify(args) => commands::verify::run(&store, &out, args).await,
        Command::Recovery(args) => commands::recovery::run(&store, &out, args).await,
        Command::Backup(args) => commands::recovery::backup(&store, &out, args).await,
        Command::Kick(args) => commands::moderation::kick(&store, &out, args).await,
        Command::Ban(args) => commands::moderation::ban(&store, &out, args).await,
        Command::Unban(args) => commands::moderation::unban(&store, &out, args).await,
        Command::Read(args) => commands::room_state::read(&store, &out, args).await,
        Command::Threads(args) => commands::threads::list(&store, &out, args).await,
        Command::Profile(args) => commands::account::profile(&store, &out, args).await,
        Command::Ignore(args) => commands::account::ignore(&store, &out, args, true).await,
        Command::Unignore(args) => commands::account::ignore(&store, &out, args, false).await,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.verbose);
    ALLOW_INSECURE_HTTP.store(
        cli.allow_insecure_http,
        std::sync::atomic::Ordering::Relaxed,
    );
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("quotient: cannot start: {e}");
            return ExitCode::from(exit::OTHER);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let _ = std::io::stdout().flush();
            eprintln!("quotient: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
