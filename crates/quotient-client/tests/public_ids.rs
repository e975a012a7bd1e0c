//! The public API takes and gives identifiers, not strings: no `pub fn`
//! of quotient-client has a room, user or event ID parameter typed as a
//! string (`&str`, `String`, `Option<&str>`, …), and no ID accessor
//! (`room_id()`, `event_id()`, `user_id()`, `sender()`) returns one.
//!
//! Read from the crate's source, every module (the store, the encryption
//! layer and verification included). Outside the check, on purpose:
//! - `events::Event` and `events::Relation`, the raw JSON's accessors
//!   (`RoomEvent` is their typed form);
//! - test code (`#[cfg(test)]` modules, `*tests.rs`, `spec_examples.rs`).

use std::path::{Path, PathBuf};

/// Parameter names that hold an ID.
fn is_id_name(name: &str) -> bool {
    let name = name.trim_start_matches("mut ").trim();
    let last = name.rsplit('_').next().unwrap_or(name);
    let stem = name.strip_suffix("_id").unwrap_or(name);
    let stem_last = stem.rsplit('_').next().unwrap_or(stem);
    last == "id" && matches!(stem_last, "room" | "user" | "event" | "sender" | "root")
        || matches!(
            name,
            "room" | "user" | "sender" | "target" | "root" | "redacts" | "in_reply_to"
        )
}

fn is_string_type(ty: &str) -> bool {
    let ty = ty.replace(' ', "");
    ty.contains("&str") || ty.contains("String") || ty.contains("&'static str")
}

const ID_ACCESSORS: [&str; 5] = ["room_id", "event_id", "user_id", "sender", "redacts"];

/// Files (relative to `src/`) and whole directories left out, and single
/// functions left out (file, function).
const SKIPPED_FILES: [&str; 2] = ["events/spec_examples.rs", "events/redact_tests.rs"];
const SKIPPED_FNS: [(&str, &str); 5] = [
    ("events/event.rs", "event_id"),
    ("events/event.rs", "sender"),
    ("events/event.rs", "room_id"),
    ("events/relation.rs", "event_id"),
    ("events/relation.rs", "in_reply_to"),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Splits `a: X, b: Y<Z, W>` at the commas outside brackets.
fn split_params(params: &str) -> Vec<String> {
    let (mut depth, mut current, mut out) = (0i32, String::new(), Vec::new());
    for c in params.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// The public functions of one file that break the rule, as
/// "file: fn …" lines. Test modules are skipped.
fn violations(rel: &str, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut skip_block = false;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        // Top-level items start at column 0 and end with a `}` there.
        if line.starts_with("#[cfg(test)]") {
            skip_block = true;
        } else if line.starts_with('}') && skip_block {
            skip_block = false;
            i += 1;
            continue;
        }
        if skip_block && !line.starts_with("#[cfg(test)]") {
            i += 1;
            continue;
        }
        if skip_block {
            // `#[cfg(test)] mod tests;` (one line) or a block that follows.
            if lines
                .get(i + 1)
                .is_some_and(|next| next.trim_end().ends_with(';'))
            {
                skip_block = false;
                i += 2;
                continue;
            }
            i += 1;
            continue;
        }
        let trimmed = line.trim_start();
        let is_pub_fn = [
            "pub fn ",
            "pub async fn ",
            "pub const fn ",
            "pub unsafe fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p));
        if !is_pub_fn {
            i += 1;
            continue;
        }
        // The signature: up to the body's `{` or a `;`.
        let mut signature = String::new();
        let mut j = i;
        while j < lines.len() {
            signature.push_str(lines[j].trim());
            signature.push(' ');
            let t = lines[j].trim_end();
            // A body's `{`, a `;`, or a one-line body (`{}`).
            if t.ends_with('{') || t.ends_with(';') || t.ends_with('}') {
                break;
            }
            j += 1;
        }
        i = j + 1;
        let after_fn = signature.split_once("fn ").map_or("", |(_, r)| r);
        let name_end = after_fn.find(['(', '<']).unwrap_or(after_fn.len());
        let name = after_fn[..name_end].trim().to_owned();
        if SKIPPED_FNS.contains(&(rel, name.as_str())) {
            continue;
        }
        let Some(open) = after_fn.find('(') else {
            continue;
        };
        let mut depth = 0;
        let mut close = open;
        for (k, c) in after_fn[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let params = &after_fn[open + 1..close];
        for param in split_params(params) {
            let Some((pname, ty)) = param.split_once(':') else {
                continue;
            };
            if is_id_name(pname) && is_string_type(ty) {
                found.push(format!("{rel}: fn {name}({})", param.trim()));
            }
        }
        let ret = after_fn[close + 1..]
            .split_once("->")
            .and_then(|(_, r)| {
                r.split(['{', ';'])
                    .next()
                    .unwrap_or("")
                    .split(" where ")
                    .next()
            })
            .unwrap_or("");
        if ID_ACCESSORS.contains(&name.as_str()) && is_string_type(ret) {
            found.push(format!("{rel}: fn {name}() -> {}", ret.trim()));
        }
    }
    found
}

fn crate_violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.ends_with("tests.rs") || SKIPPED_FILES.iter().any(|s| rel.starts_with(s)) {
            continue;
        }
        found.extend(violations(&rel, &std::fs::read_to_string(&file).unwrap()));
    }
    found
}

#[test]
fn no_public_function_of_the_client_takes_or_gives_an_id_as_a_string() {
    // Another tree can be checked by naming its `src` (an older commit's).
    let src = std::env::var_os("PUBLIC_IDS_SRC").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        PathBuf::from,
    );
    let found = crate_violations(&src);
    assert!(found.is_empty(), "IDs as strings: {found:#?}");
}

#[test]
fn the_check_sees_a_string_id_where_there_is_one() {
    let text = r#"
pub struct Thing;

impl Thing {
    /// Doc.
    pub async fn kick(
        &self,
        user_id: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        todo!()
    }

    pub fn fine(&self, user_id: &UserId, event_type: &str) -> bool {
        true
    }

    pub fn room_id(&self) -> Option<&str> {
        None
    }

    pub(crate) fn internal(&self, room_id: &str) {}
}

impl Store {
    pub fn timeline(&self, room_id: &str) {}
}

#[cfg(test)]
mod tests {
    pub fn helper(event_id: &str) {}
}
"#;
    assert_eq!(
        violations("x.rs", text),
        [
            "x.rs: fn kick(user_id: &str)",
            "x.rs: fn room_id() -> Option<&str>",
            "x.rs: fn timeline(room_id: &str)"
        ]
    );
}
