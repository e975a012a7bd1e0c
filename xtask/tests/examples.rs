//! Every request and response example in the spec decodes into the
//! generated types and encodes back to the same JSON, apart from the
//! documented exceptions below.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use xtask::yaml::{self, Node};

/// Examples that do not survive a round trip, and why. Keep this short:
/// each entry is a known, explained difference, not a silenced failure.
const EXCEPTIONS: &[(&str, bool, &str)] = &[
    (
        "getNotifications",
        false,
        "the example's `event` has a `room_id`, but its schema is \
         ClientEventWithoutRoomID, which declares none; the undeclared key is not kept",
    ),
    (
        "getProtocols",
        false,
        "the example's `gitter` protocol has no `icon`, which protocol_base.yaml requires",
    ),
];

struct Example {
    operation_id: String,
    request: bool,
    name: String,
    json: serde_json::Value,
}

/// The spec, or `None` (with a note on stderr) when it is absent and
/// `QUOTIENT_REQUIRE_SPEC` is not `1`. CI sets it, so there the spec's
/// absence fails the run instead of skipping these tests.
fn spec_dir() -> Option<PathBuf> {
    let dir = xtask::default_spec_dir();
    if dir.join("data/api/client-server").is_dir() {
        return Some(dir);
    }
    let why = format!(
        "the Matrix spec examples are read from {} at test time, and it is not there; \
         check out ../shared beside the project or set QUOTIENT_SPEC_DIR",
        dir.display()
    );
    if std::env::var("QUOTIENT_REQUIRE_SPEC").as_deref() == Ok("1") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// Resolves `$ref`s inside example values (they point at example files).
fn resolve_example_refs(node: &Node, base: &Path) -> serde_json::Value {
    if let Some(reference) = node.str("$ref") {
        let path = base.parent().unwrap_or(Path::new("")).join(reference);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let target = yaml::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Keys beside the `$ref` are merged in and win (an event example
        // plus the `room_id` this endpoint adds).
        let mut merged = resolve_example_refs(&target, &path);
        if let serde_json::Value::Object(map) = &mut merged {
            for (k, v) in node.entries().iter().filter(|(k, _)| k != "$ref") {
                map.insert(k.clone(), resolve_example_refs(v, base));
            }
        }
        return merged;
    }
    match node {
        Node::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), resolve_example_refs(v, base)))
                .collect(),
        ),
        Node::Seq(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| resolve_example_refs(i, base))
                .collect(),
        ),
        other => other.to_json(),
    }
}

fn examples_of(content: &Node, file: &Path) -> Vec<(String, serde_json::Value)> {
    let Some(json) = content.get("application/json") else {
        return vec![];
    };
    let mut out = Vec::new();
    if let Some(examples) = json.get("examples") {
        for (name, example) in examples.entries() {
            if let Some(value) = example.get("value") {
                out.push((name.clone(), resolve_example_refs(value, file)));
            }
        }
    }
    if let Some(example) = json.get("example") {
        out.push(("example".into(), resolve_example_refs(example, file)));
    }
    // Most request examples sit on the schema itself.
    if let Some(example) = json.get("schema").and_then(|s| s.get("example")) {
        out.push(("schema example".into(), resolve_example_refs(example, file)));
    }
    out
}

fn collect_examples(spec: &Path) -> Vec<Example> {
    let data = spec.join("data");
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("api/client-server"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for file in files {
        let root = yaml::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for (_, methods) in root.get("paths").map(Node::entries).unwrap_or_default() {
            for (_, op) in methods.entries() {
                let Some(id) = op.str("operationId") else {
                    continue;
                };
                if let Some(content) = op.get("requestBody").and_then(|b| b.get("content")) {
                    for (name, json) in examples_of(content, &file) {
                        out.push(Example {
                            operation_id: id.into(),
                            request: true,
                            name,
                            json,
                        });
                    }
                }
                for (code, response) in op.get("responses").map(Node::entries).unwrap_or_default() {
                    if !code.starts_with('2') {
                        continue;
                    }
                    if let Some(content) = response.get("content") {
                        for (name, json) in examples_of(content, &file) {
                            out.push(Example {
                                operation_id: id.into(),
                                request: false,
                                name,
                                json,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn spec_examples_round_trip_through_generated_types() {
    let Some(spec) = spec_dir() else { return };
    let examples = collect_examples(&spec);
    assert!(
        examples.len() > 150,
        "only {} examples found",
        examples.len()
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for ex in &examples {
        let text = ex.json.to_string();
        let Some(result) =
            quotient_api::generated::roundtrip_example(&ex.operation_id, ex.request, &text)
        else {
            continue; // bodies without a JSON type (media) have nothing to check
        };
        checked += 1;
        let excepted = EXCEPTIONS
            .iter()
            .any(|(id, req, _)| *id == ex.operation_id && *req == ex.request);
        let outcome = match result {
            Err(e) => Err(format!("does not decode: {e}")),
            Ok(back) if back != ex.json => Err(format!(
                "re-encodes differently:\n    spec: {}\n    ours: {back}",
                ex.json
            )),
            Ok(_) => Ok(()),
        };
        match (outcome, excepted) {
            (Err(e), false) => failures.push(format!(
                "{} {} example `{}` {e}",
                ex.operation_id,
                if ex.request { "request" } else { "response" },
                ex.name
            )),
            (Ok(()), true) => failures.push(format!(
                "{} {} is listed in EXCEPTIONS but round-trips now: remove it",
                ex.operation_id,
                if ex.request { "request" } else { "response" }
            )),
            _ => {}
        }
    }
    assert!(
        checked > 150,
        "only {checked} examples had a generated type"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} examples fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn generation_is_deterministic_and_matches_the_committed_code() {
    let Some(spec) = spec_dir() else { return };
    let first = xtask::generate(&spec).expect("the generator runs");
    let second = xtask::generate(&spec).expect("the generator runs twice");
    assert!(first == second, "two runs gave different output");
    let out = xtask::output_dir();
    for (name, text) in &first {
        let committed = std::fs::read_to_string(out.join(name)).unwrap_or_default();
        assert!(
            &committed == text,
            "crates/quotient-api/src/generated/{name} is stale: run `cargo run -p xtask -- codegen`"
        );
    }
    assert_eq!(first.len(), 74, "72 spec files, definitions.rs and mod.rs");
}
/// Examples at any depth that do not survive a round trip, and why:
/// (the type they belong to, a fragment of the failure, why). An entry
/// that matches nothing fails the test, so the list cannot rot.
const DEEP_EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "notifications::GetNotificationsResponse",
        "/notifications/0/event/room_id lost",
        "the example's `event` has a `room_id`, but its schema is \
         ClientEventWithoutRoomID, which declares none; undeclared keys are not kept",
    ),
    (
        "BTreeMap<String, definitions::Protocol>",
        "missing field `icon`",
        "the example's `gitter` protocol has no `icon`, which protocol_base.yaml requires",
    ),
    (
        "crate::ErrorBody",
        "/current_version lost",
        "ErrorBody reads the fields the library acts on (errcode, error, \
         retry_after_ms, soft_logout, the UIA keys, …); M_WRONG_ROOM_KEYS_VERSION's \
         `current_version` is not one of them",
    ),
    (
        "crate::ErrorBody",
        "/body lost; /status lost",
        "the same, for the appservice ping's M_BAD_STATUS `status` and `body`",
    ),
];

/// Examples the generator meets with no type of their own, by file and a
/// fragment of the example's JSON, and why. Examples in files no
/// operation uses are counted apart (the generator never reads those
/// files). An entry that matches nothing fails the test.
const UNTYPED_EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "api/client-server/content-repo.yaml",
        "inline; filename=",
        "a `Content-Disposition` response header: media answers are bytes plus headers (`Media`)",
    ),
    (
        "api/client-server/authed-content-repo.yaml",
        "inline; filename=",
        "a `Content-Disposition` response header, as above",
    ),
    (
        "api/client-server/content-repo.yaml",
        "<bytes>",
        "a placeholder for an upload's bytes",
    ),
    (
        "api/client-server/definitions/errors/error.yaml",
        "",
        "properties of the standard error body, read by the hand-written ErrorBody; \
         whole error examples are checked against it",
    ),
    (
        "api/client-server/definitions/errors/rate_limited.yaml",
        "",
        "properties of the rate-limit error body, as above",
    ),
    (
        "api/client-server/appservice_ping.yaml",
        "",
        "properties of the ping's error body, as above",
    ),
    (
        "api/client-server/definitions/auth_response.yaml",
        "",
        "the UIA 401 body, read by the hand-written UiaChallenge",
    ),
];

fn lost_paths(
    spec: &serde_json::Value,
    ours: &serde_json::Value,
    path: &str,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    match (spec, ours) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let here = format!("{path}/{k}");
                match b.get(k) {
                    Some(w) => lost_paths(v, w, &here, out),
                    None => out.push(format!("{here} lost")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(format!("{path}: {} items became {}", a.len(), b.len()));
                return;
            }
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                lost_paths(v, w, &format!("{path}/{i}"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} became {b}")),
    }
}

/// Every example the spec's client-server files hold, at any depth, as
/// JSON with the file it is in. Example values are not searched for more
/// examples (an example event may well have a key named `example`).
fn every_example_in_files(spec: &mut xtask::spec::Spec) -> Vec<(String, serde_json::Value)> {
    fn walk(node: &Node, file: &str, found: &mut Vec<(String, Node)>) {
        for (key, value) in node.entries() {
            if key == "example" || key == "examples" {
                let holder = Node::Map(vec![(key.clone(), value.clone())]);
                for example in xtask::model::examples_in(&holder) {
                    found.push((file.to_owned(), example));
                }
                continue;
            }
            walk(value, file, found);
        }
        for item in node.items() {
            walk(item, file, found);
        }
    }
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    files(&spec.data_dir.join("api/client-server"), &mut paths);
    paths.sort();
    let mut found = Vec::new();
    for path in paths {
        let rel = path.strip_prefix(&spec.data_dir).unwrap().to_path_buf();
        let root = spec.file(&rel).unwrap().clone();
        walk(&root, &rel.display().to_string(), &mut found);
    }
    found
        .into_iter()
        .map(|(file, node)| {
            let json =
                xtask::examples::resolve(spec, &node).unwrap_or_else(|e| panic!("{file}: {e}"));
            (file, json)
        })
        .collect()
}

#[test]
fn every_example_at_any_depth_round_trips_through_its_type() {
    let Some(dir) = spec_dir() else { return };
    let (mut spec, model) = xtask::model(&dir).expect("the generator models the spec");
    let read_by_generator: BTreeSet<String> = spec
        .loaded()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut seen = BTreeSet::new();
    let mut typed_json = BTreeSet::new();
    let mut failures = Vec::new();
    let mut used_exceptions = BTreeSet::new();
    let mut checked = 0;
    for use_ in &model.examples {
        let json = xtask::examples::resolve(&mut spec, &use_.example)
            .unwrap_or_else(|e| panic!("{}: {e}", use_.place));
        let text = json.to_string();
        typed_json.insert(text.clone());
        if !seen.insert((use_.ty.clone(), text.clone())) {
            continue;
        }
        checked += 1;
        let Some(result) = quotient_api::generated::roundtrip_type(&use_.ty, &text) else {
            failures.push(format!(
                "{}: `{}` has no round-trip entry",
                use_.place, use_.ty
            ));
            continue;
        };
        let problem = match result {
            Err(e) => format!("does not decode: {e}"),
            Ok(back) => {
                let mut lost = Vec::new();
                lost_paths(&json, &back, "", &mut lost);
                lost.join("; ")
            }
        };
        if problem.is_empty() {
            continue;
        }
        match DEEP_EXCEPTIONS
            .iter()
            .position(|(ty, fragment, _)| *ty == use_.ty && problem.contains(fragment))
        {
            Some(i) => {
                used_exceptions.insert(i);
            }
            None => failures.push(format!(
                "{} (`{}`): {problem}\n    example: {text}",
                use_.place, use_.ty
            )),
        }
    }
    for (i, (ty, fragment, _)) in DEEP_EXCEPTIONS.iter().enumerate() {
        if !used_exceptions.contains(&i) {
            failures.push(format!(
                "DEEP_EXCEPTIONS lists `{ty}` / `{fragment}`, which round-trips now: remove it"
            ));
        }
    }

    // Every example in the files was met by the generator with a type, or
    // is explained.
    let all = every_example_in_files(&mut spec);
    let (mut matched, mut unused_files, mut explained) = (0, 0, 0);
    let mut used_untyped = BTreeSet::new();
    for (file, json) in &all {
        let text = json.to_string();
        if typed_json.contains(&text) {
            matched += 1;
        } else if !read_by_generator.contains(file) {
            unused_files += 1;
        } else if let Some(i) = UNTYPED_EXAMPLES
            .iter()
            .position(|(f, fragment, _)| f == file && text.contains(fragment))
        {
            used_untyped.insert(i);
            explained += 1;
        } else {
            failures.push(format!("never matched to a generated type: {file}: {text}"));
        }
    }
    for (i, (file, fragment, _)) in UNTYPED_EXAMPLES.iter().enumerate() {
        if !used_untyped.contains(&i) {
            failures.push(format!(
                "UNTYPED_EXAMPLES lists {file} / `{fragment}`, which matches nothing now: remove it"
            ));
        }
    }
    eprintln!(
        "{} examples in the client-server files: {matched} matched to a type, {explained} \
         explained as untyped, {unused_files} in definitions no operation uses; \
         {checked} (type, example) pairs round-tripped, {} of them excepted",
        all.len(),
        used_exceptions.len()
    );
    assert!(all.len() > 700, "only {} examples found", all.len());
    assert!(checked > 400, "only {checked} examples checked");
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
