//! `quotient api METHOD PATH` and `quotient api list`

use std::io::{Read as _, Write as _};
use std::time::Duration;

use quotient::api::{
    find_operation, AuthRequirement, HttpRequest, Metadata, Method, RequestBody, OPERATIONS,
};
use quotient::BackoffStrategy;

use crate::cli::ApiArgs;
use crate::exit::Failure;
use crate::store::Store;
use crate::terminal::Output;
use crate::{connect, parse_homeserver};

pub async fn run(store: &Store, out: &Output, args: ApiArgs) -> Result<(), Failure> {
    if args.method.eq_ignore_ascii_case("list") {
        list(out);
        return Ok(());
    }
    let method = match args.method.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "PUT" => Method::Put,
        "POST" => Method::Post,
        "DELETE" => Method::Delete,
        other => {
            return Err(Failure::usage(format!(
                "`{other}` is not a method this API uses (GET, PUT, POST, DELETE) or `list`"
            )))
        }
    };
    let path = args
        .path
        .ok_or_else(|| Failure::usage("missing PATH, e.g. /_matrix/client/v3/account/whoami"))?;
    if !path.starts_with('/') {
        return Err(Failure::usage(format!(
            "`{path}` is not a path: it must start with /"
        )));
    }
    let body = match args.body.as_deref() {
        None => RequestBody::Empty,
        Some(text) => {
            let text = if text == "-" {
                let mut input = String::new();
                std::io::stdin()
                    .read_to_string(&mut input)
                    .map_err(|e| Failure::usage(format!("cannot read the body from stdin: {e}")))?;
                input
            } else {
                text.to_owned()
            };
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Failure::usage(format!("--body is not JSON: {e}")))?;
            RequestBody::json(&value).map_err(|e| Failure::usage(e.to_string()))?
        }
    };
    let stored = store.connection().ok();
    let conn = match (&args.homeserver, stored) {
        (Some(url), Some((conn, session))) if session.homeserver == parse_homeserver(url)? => conn,
        (Some(url), _) => connect(parse_homeserver(url)?)?,
        (None, Some((conn, _))) => conn,
        (None, None) => return Err(Failure::usage("pass --homeserver URL, or sign in first")),
    };
    // A known operation keeps its own rules (auth, idempotency, rate-limit
    // pause); anything else is sent with the token when there is one.
    let meta = find_operation(method, &path).copied().unwrap_or(Metadata {
        operation_id: "custom",
        method,
        path: "(custom)",
        auth: AuthRequirement::Optional,
        rate_limited: true,
        added_in: None,
        deprecated: false,
        idempotent: Metadata::idempotent_by_method(method),
        response_content_types: &[],
        follows_redirects: false,
        server_wait_param: None,
    });
    let mut options = conn.default_job_options().clone();
    if let Some(secs) = args.timeout {
        if !(secs.is_finite() && secs > 0.0) {
            return Err(Failure::usage(
                "--timeout must be a positive number of seconds",
            ));
        }
        // `from_secs_f64` panics past `Duration::MAX`; that long is no limit.
        let deadline = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
        options.backoff = BackoffStrategy {
            deadline: Some(deadline),
            ..options.backoff
        };
    }
    let request = HttpRequest {
        method,
        path_and_query: path,
        headers: vec![],
        body,
    };
    let spin = out.spinner(&format!("{} {}", method.as_str(), meta.operation_id));
    let result = conn.submit_request(meta, request, options).await;
    drop(spin);
    let response = result.map_err(|e| {
        Failure::from_error(
            &format!("{} {} failed", method.as_str(), meta.operation_id),
            &e,
        )
    })?;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(response.body());
    if out.fancy && !response.body().ends_with(b"\n") {
        let _ = stdout.write_all(b"\n");
    }
    Ok(())
}

fn list(out: &Output) {
    if out.json {
        let ops: Vec<serde_json::Value> = OPERATIONS
            .iter()
            .map(|op| {
                serde_json::json!({
                    "operation_id": op.operation_id,
                    "method": op.method.as_str(),
                    "path": op.path,
                    "auth": format!("{:?}", op.auth).to_lowercase(),
                    "rate_limited": op.rate_limited,
                    "added_in": op.added_in,
                    "deprecated": op.deprecated,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(ops));
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "{:<34} {:<6} {:<66} {:<8} {:<5} SINCE",
        "OPERATION", "METHOD", "PATH", "AUTH", "RATE"
    );
    for op in OPERATIONS {
        let _ = writeln!(
            stdout,
            "{:<34} {:<6} {:<66} {:<8} {:<5} {}{}",
            op.operation_id,
            op.method.as_str(),
            op.path,
            format!("{:?}", op.auth).to_lowercase(),
            if op.rate_limited { "yes" } else { "no" },
            op.added_in.unwrap_or("-"),
            if op.deprecated { " (deprecated)" } else { "" }
        );
    }
}
