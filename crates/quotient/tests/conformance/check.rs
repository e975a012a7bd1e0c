//! The per-call check: send a generated request through the engine, decode
//! the answer into its typed response, and compare the typed value,
//! encoded again, with the raw body key by key, so a field the type drops
//! (or a value it changes) is caught. Every operation that passes is
//! recorded, and `main.rs` compares the record with docs/conformance.md.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use quotient::api::{
    strict_events, Endpoint, ErrorCode, IncomingResponse, ResponseParts, UiaEndpoint,
};
use quotient::{Connection, Error, Response, StatusCode, UiaHandler};
use serde_json::Value;

use crate::tables::{KNOWN_GENERATOR_BUGS, OUTSIDE_THE_SCHEMA};

/// What the suite saw, shared by all scenarios.
#[derive(Default)]
struct Record {
    /// Operations called whose answers decoded and kept every key.
    passed: BTreeSet<&'static str>,
    /// Operations with at least one call that did not.
    failed: BTreeSet<&'static str>,
    /// Operations proved unimplemented (or unconfigured) by Synapse's answer.
    refused: BTreeSet<&'static str>,
    /// Problems (keys dropped, values changed, decode failures), the first
    /// message for each operation and key path.
    findings: BTreeMap<String, String>,
    /// Entries of the tolerance tables that matched something, by table
    /// and index.
    used_bugs: BTreeSet<usize>,
    used_outside: BTreeSet<usize>,
}

static RECORD: Mutex<Option<Record>> = Mutex::new(None);

fn with_record<T>(f: impl FnOnce(&mut Record) -> T) -> T {
    let mut guard = RECORD.lock().unwrap_or_else(PoisonError::into_inner);
    f(guard.get_or_insert_with(Record::default))
}

/// The outcome of the whole run, for the final comparisons.
pub struct Summary {
    pub passed: BTreeSet<&'static str>,
    pub refused: BTreeSet<&'static str>,
    pub findings: Vec<String>,
    pub unused_bugs: Vec<String>,
    pub unused_outside: Vec<String>,
}

pub fn summary() -> Summary {
    with_record(|r| Summary {
        passed: r.passed.difference(&r.failed).copied().collect(),
        refused: r.refused.clone(),
        findings: r.findings.values().cloned().collect(),
        unused_bugs: KNOWN_GENERATOR_BUGS
            .iter()
            .enumerate()
            .filter(|(i, _)| !r.used_bugs.contains(i))
            .map(|(_, (op, path, _))| format!("({op}, {path})"))
            .collect(),
        unused_outside: OUTSIDE_THE_SCHEMA
            .iter()
            .enumerate()
            .filter(|(i, _)| !r.used_outside.contains(i))
            .map(|(_, (op, path, _))| format!("({op}, {path})"))
            .collect(),
    })
}

fn finding(op: &str, path: &str, problem: String) {
    let key = format!("{op}: {path}");
    with_record(|r| {
        r.findings
            .entry(key.clone())
            .or_insert_with(|| format!("{key}: {problem}"));
    });
}

/// Sends `request`, decodes the answer and checks it key by key.
///
/// Returns the typed value, or `None` when the answer did not decode (a
/// finding, unless [`KNOWN_GENERATOR_BUGS`] lists `<decode>` for the
/// operation). Any error answer panics with what the server said.
pub async fn call<E>(conn: &Connection, request: E) -> Option<E::Response>
where
    E: Endpoint,
    E::Response: serde::Serialize + Send + 'static,
{
    checked::<E>(conn.submit(request).await)
}

/// [`call`] through the UIA driver, for operations that take `auth`.
pub async fn call_uia<E, H>(conn: &Connection, request: E, handler: &mut H) -> Option<E::Response>
where
    E: UiaEndpoint,
    E::Response: serde::Serialize + Send + 'static,
    H: UiaHandler,
{
    let options = conn.default_job_options().clone();
    checked::<E>(conn.send_with_uia(request, handler, options).await)
}

fn checked<E>(result: Result<Response<E::Response>, Error>) -> Option<E::Response>
where
    E: Endpoint,
    E::Response: serde::Serialize,
{
    let op = E::METADATA.operation_id;
    let response = match result {
        Ok(response) => response,
        Err(err) if err.status() == StatusCode::IncorrectResponse => {
            decode_failed(
                op,
                format!(
                    "the answer does not decode into the typed response: {err} (body: {})",
                    err.body_sample().unwrap_or("?")
                ),
            );
            return None;
        }
        Err(err) => panic!("{op} failed: {}", describe(&err)),
    };
    let raw: Value = response
        .json()
        .unwrap_or_else(|e| panic!("{op}: the body is not JSON: {e}"));
    // Event lists decode leniently (an event that does not fit its type is
    // kept as raw JSON, and written back as it came), which would hide a
    // wrong type here: decode the same answer again, strictly.
    let parts = ResponseParts {
        status: response.http_status(),
        headers: response.headers(),
        body: response.body(),
    };
    let strict = match strict_events(|| E::Response::decode(&parts)) {
        Ok(value) => value,
        Err(err) => {
            decode_failed(
                op,
                format!("an event in the answer does not fit its type: {err}"),
            );
            return Some(response.into_value());
        }
    };
    let typed = serde_json::to_value(&strict)
        .unwrap_or_else(|e| panic!("{op}: the typed value does not encode: {e}"));
    let mut problems = Vec::new();
    compare(&raw, &typed, "", &mut problems);
    let mut clean = true;
    let mut seen = BTreeSet::new();
    for (path, problem) in problems {
        if !seen.insert(path.clone()) {
            continue;
        }
        if tolerated_outside(op, &path) || tolerated_bug(op, &path) {
            continue;
        }
        clean = false;
        finding(op, &path, problem);
    }
    with_record(|r| {
        if clean {
            r.passed.insert(op)
        } else {
            r.failed.insert(op)
        }
    });
    Some(response.into_value())
}

/// An answer that does not decode: the operation fails this run, and it
/// is a finding unless one of the tables lists `<decode>` for it.
fn decode_failed(op: &'static str, message: String) {
    with_record(|r| r.failed.insert(op));
    if !tolerated_outside(op, "<decode>") && !tolerated_bug(op, "<decode>") {
        finding(op, "<decode>", message);
    }
}

/// Like [`call`], for answers that are not JSON (media downloads): the
/// check is that it succeeds; the caller checks the bytes.
pub async fn call_media<E>(conn: &Connection, request: E) -> quotient::api::Media
where
    E: Endpoint<Response = quotient::api::Media>,
{
    let op = E::METADATA.operation_id;
    let media = conn
        .submit(request)
        .await
        .unwrap_or_else(|e| panic!("{op} failed: {}", describe(&e)))
        .into_value();
    with_record(|r| r.passed.insert(op));
    media
}

/// Sends `request` and expects it to fail with `http` and `errcode`
/// (`None`: a body without one, such as Twisted's HTML 404 page); records
/// the operation as refused by Synapse.
pub async fn expect_refusal<E>(conn: &Connection, request: E, http: u16, errcode: Option<ErrorCode>)
where
    E: Endpoint,
    E::Response: Send + 'static,
{
    let op = E::METADATA.operation_id;
    match conn.submit(request).await {
        Ok(_) => panic!("{op}: Synapse answered with success; it is implemented after all"),
        Err(err) => {
            assert_eq!(err.http_status(), Some(http), "{op}: {}", describe(&err));
            assert_eq!(err.errcode(), errcode.as_ref(), "{op}: {}", describe(&err));
        }
    }
    with_record(|r| r.refused.insert(op));
}

/// Sends `request` and returns its error, which must come from the server.
pub async fn expect_error<E>(conn: &Connection, request: E) -> Error
where
    E: Endpoint,
    E::Response: Send + 'static,
{
    let op = E::METADATA.operation_id;
    match conn.submit(request).await {
        Ok(_) => panic!("{op}: expected an error answer"),
        Err(err) => {
            assert!(err.http_status().is_some(), "{op}: {}", describe(&err));
            err
        }
    }
}

pub fn describe(err: &Error) -> String {
    format!(
        "{err} (status {:?}, HTTP {:?}, errcode {:?}, body {:?})",
        err.status(),
        err.http_status(),
        err.errcode(),
        err.body_sample()
    )
}

/// Walks `raw`; every key (with a non-null value) must be in `typed`, and
/// every scalar must be equal. Array elements are `[]` in paths; object
/// keys are separated by `/` (keys contain dots: `m.room.message`).
fn compare(raw: &Value, typed: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match (raw, typed) {
        (Value::Object(raw), Value::Object(typed)) => {
            for (key, value) in raw {
                // An absent optional field is not encoded; `null` said nothing more.
                if value.is_null() {
                    continue;
                }
                // Room, user, event IDs and aliases as keys are data, not names.
                let segment = if key.starts_with(['!', '@', '$', '#']) {
                    "*"
                } else {
                    key
                };
                let sub = format!("{path}/{segment}");
                match typed.get(key) {
                    Some(t) => compare(value, t, &sub, out),
                    None => out.push((sub, format!("dropped (Synapse sent {})", sample(value)))),
                }
            }
        }
        (Value::Array(raw), Value::Array(typed)) if raw.len() == typed.len() => {
            let sub = format!("{path}/[]");
            for (r, t) in raw.iter().zip(typed) {
                compare(r, t, &sub, out);
            }
        }
        (Value::Number(r), Value::Number(t)) if r.as_f64() == t.as_f64() => {}
        (r, t) if r == t => {}
        (r, t) => out.push((
            if path.is_empty() {
                "/".to_owned()
            } else {
                path.to_owned()
            },
            format!(
                "changed: Synapse sent {}, the type gives {}",
                sample(r),
                sample(t)
            ),
        )),
    }
}

fn sample(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

/// `pattern` matches `path` segment by segment: `*` matches any one
/// segment, `**` any number of them (also none).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    fn matches(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => matches(&p[1..], s) || (!s.is_empty() && matches(p, &s[1..])),
            (Some(p0), Some(s0)) => (*p0 == "*" || p0 == s0) && matches(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    matches(&p, &s)
}

fn tolerated_bug(op: &str, path: &str) -> bool {
    tolerated(KNOWN_GENERATOR_BUGS, op, path, |r, i| {
        r.used_bugs.insert(i);
    })
}

fn tolerated_outside(op: &str, path: &str) -> bool {
    tolerated(OUTSIDE_THE_SCHEMA, op, path, |r, i| {
        r.used_outside.insert(i);
    })
}

fn tolerated(
    table: &[(&str, &str, &str)],
    op: &str,
    path: &str,
    mark: impl Fn(&mut Record, usize),
) -> bool {
    let hit = table
        .iter()
        .position(|(o, p, _)| (*o == op || *o == "*") && path_matches(p, path));
    if let Some(i) = hit {
        with_record(|r| mark(r, i));
    }
    hit.is_some()
}

#[test]
fn key_paths_match_patterns() {
    assert!(path_matches("/a/*/c", "/a/b/c"));
    assert!(!path_matches("/a/*/c", "/a/b/c/d"));
    assert!(path_matches("/a/**", "/a/b/c/d"));
    assert!(path_matches("/**/age", "/age"));
    assert!(path_matches("/**/age", "/chunk/[]/age"));
    assert!(!path_matches("/**/age", "/chunk/[]/content"));
    assert!(!path_matches("/a/x", "/a/b"));
    let mut out = Vec::new();
    compare(
        &serde_json::json!({"a": 1, "b": {"c": [1, {"d": 2}]}, "n": null, "f": 2}),
        &serde_json::json!({"a": 1.0, "b": {"c": [1, {}]}, "f": 3}),
        "",
        &mut out,
    );
    let paths: Vec<&str> = out.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/b/c/[]/d", "/f"]);
}
