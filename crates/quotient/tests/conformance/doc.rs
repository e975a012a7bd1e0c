//! docs/conformance.md, read back: its table must list every generated
//! operation exactly once, with the right method and path, its count must
//! be right, and its statuses must agree with what the run did.

use std::collections::{BTreeMap, BTreeSet};

use quotient::api::OPERATIONS;

const DOC: &str = include_str!("../../../../docs/conformance.md");
const PROOFS: &str = include_str!("unimplemented.rs");

#[derive(Debug)]
pub struct Row {
    pub method: String,
    pub path: String,
    pub exercised: bool,
    /// `unimplemented::NAME` when the row names a test proving Synapse
    /// refuses the operation.
    pub proof: Option<String>,
}

/// The table rows by operationId; panics on a row listed twice.
pub fn rows() -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    let table = DOC
        .split_once("\n## Operations\n")
        .expect("docs/conformance.md has a section `## Operations`")
        .1;
    for line in table.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `opId` | METHOD | `path` | status |
        if cells.len() < 6 || !cells[1].starts_with('`') {
            continue;
        }
        let op = cells[1].trim_matches('`').to_owned();
        let status = cells[4];
        let exercised = status.starts_with("exercised");
        assert!(
            exercised || status.starts_with("not exercised"),
            "docs/conformance.md: {op}: a status starts with `exercised` or `not exercised`: {status}"
        );
        let proof = status
            .split("proof: `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let row = Row {
            method: cells[2].to_owned(),
            path: cells[3].trim_matches('`').to_owned(),
            exercised,
            proof,
        };
        assert!(
            rows.insert(op.clone(), row).is_none(),
            "docs/conformance.md lists {op} twice"
        );
    }
    rows
}

/// The number the document states at the top: "**N of 166 operations**".
fn stated_count() -> usize {
    let line = DOC
        .lines()
        .find(|l| l.starts_with("**") && l.contains(" of 166 operations"))
        .expect("docs/conformance.md states the count: **N of 166 operations …**");
    line.trim_start_matches("**")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("the count is a number")
}

#[test]
fn the_document_lists_every_operation_exactly_once() {
    let rows = rows();
    let mut problems = Vec::new();
    for meta in OPERATIONS {
        match rows.get(meta.operation_id) {
            None => problems.push(format!("{} is missing", meta.operation_id)),
            Some(row) => {
                if row.method != meta.method.as_str() || row.path != meta.path {
                    problems.push(format!(
                        "{}: the document says {} {}, the code {} {}",
                        meta.operation_id,
                        row.method,
                        row.path,
                        meta.method.as_str(),
                        meta.path
                    ));
                }
            }
        }
    }
    let known: BTreeSet<&str> = OPERATIONS.iter().map(|m| m.operation_id).collect();
    for op in rows.keys() {
        if !known.contains(op.as_str()) {
            problems.push(format!("{op} is not an operation"));
        }
    }
    let exercised = rows.values().filter(|r| r.exercised).count();
    if exercised != stated_count() {
        problems.push(format!(
            "the document says {} exercised, its table marks {exercised}",
            stated_count()
        ));
    }
    for (op, row) in &rows {
        if let Some(proof) = &row.proof {
            let name = proof.strip_prefix("unimplemented::").unwrap_or(proof);
            if row.exercised || !PROOFS.contains(&format!("pub async fn {name}()")) {
                problems.push(format!("{op}: no proof test named {proof}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/conformance.md:\n{}",
        problems.join("\n")
    );
}

/// Differences between the document and the run: an operation marked
/// exercised that did not pass, one that passed but is not marked, and a
/// refusal the document claims that the run did not prove.
pub fn compare_with_run(
    passed: &BTreeSet<&'static str>,
    refused: &BTreeSet<&'static str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (op, row) in rows() {
        let op = op.as_str();
        if row.exercised && !passed.contains(op) {
            problems.push(format!(
                "docs/conformance.md marks {op} exercised, but the run did not pass it"
            ));
        }
        if !row.exercised && passed.contains(op) {
            problems.push(format!(
                "{op} passed, but docs/conformance.md does not mark it exercised"
            ));
        }
        if row.proof.is_some() && !refused.contains(op) {
            problems.push(format!(
                "docs/conformance.md names a refusal proof for {op}, but the run did not prove it"
            ));
        }
        if row.proof.is_none() && refused.contains(op) {
            problems.push(format!(
                "the run proved Synapse refuses {op}; name the proof in docs/conformance.md"
            ));
        }
    }
    problems
}
