//! Every request and response example in the spec decodes into the
//! generated types and encodes back to the same JSON, apart from the
//! documented exceptions below.

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
