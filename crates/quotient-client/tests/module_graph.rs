//! The crate's modules depend on each other one way: no file reaches,
//! through `crate::…` and `super::…` paths, a file that reaches back to
//! it. Issue #22 untangled three such circles (`client` ↔ `media` ↔
//! `media/config`, `outbox/attachment` ↔ `outbox/registry` ↔
//! `outbox/sender`, `sync/stream` ↔ `sync/writer`); this keeps new ones
//! out. A path is attributed to the deepest module file it names, so
//! `crate::store::Store` is an arrow to `store/mod.rs`, not to the file
//! that defines `Store`.
//!
//! The encryption layer (`crypto/`, `encryption.rs`, `verification.rs`),
//! built apart under its own issue, is left out, and so are the arrows
//! into it: the client holds its machine, and it queues through the
//! client.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

/// `room/mod.rs` → `room`, `room/power.rs` → `room/power`, `lib.rs` → "".
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let rel = rel.to_string_lossy().replace('\\', "/");
    match rel.as_str() {
        "lib" => String::new(),
        r => r.strip_suffix("/mod").unwrap_or(r).to_owned(),
    }
}

/// The code without comments (doc links are not dependencies).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` or `super::a::b` path, and each item of a
/// `use crate::{a, b::c}` group, as segments.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let rest = &code[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let path = &rest[..end];
            let segments: Vec<String> = path
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if rest[end..].starts_with('{') {
                let group = &rest[end + 1..rest[end..].find('}').map_or(end + 1, |c| end + c)];
                for item in group.split(',') {
                    let item = item.trim().split([' ', '{']).next().unwrap_or("");
                    let mut with = segments.clone();
                    with.extend(
                        item.split("::")
                            .filter(|s| !s.is_empty() && *s != "self")
                            .map(str::to_owned),
                    );
                    if with.len() > segments.len() {
                        out.push(with);
                    }
                }
            }
            out.push(segments);
        }
    }
    out
}

/// The items `lib.rs` re-exports (`pub use client::{Client, …};`), by
/// name → the module they come from: `crate::Client` is an arrow to
/// `client`.
fn root_items(src: &Path) -> BTreeMap<String, String> {
    let lib = code(&std::fs::read_to_string(src.join("lib.rs")).unwrap_or_default());
    let mut items = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = name.trim();
            if !name.is_empty() && !name.contains("::") {
                items.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    items
}

fn resolve(
    modules: &BTreeSet<String>,
    root_items: &BTreeMap<String, String>,
    current: &str,
    path: &[String],
) -> Option<String> {
    if path.len() >= 2 && path[0] == "crate" {
        if let Some(module) = root_items.get(&path[1]) {
            return Some(module.clone()).filter(|m| m != current);
        }
    }
    let (mut base, mut rest): (Vec<&str>, &[String]) = match path.first()?.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "super" => {
            let mut base: Vec<&str> = current.split('/').filter(|s| !s.is_empty()).collect();
            base.pop();
            (base, &path[1..])
        }
        _ => return None,
    };
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    let mut best = None;
    for n in 0..=rest.len() {
        let mut candidate: Vec<&str> = base.clone();
        candidate.extend(rest[..n].iter().map(String::as_str));
        let candidate = candidate.join("/");
        if modules.contains(&candidate) {
            best = Some(candidate);
        }
    }
    best.filter(|m| !m.is_empty() && m != current)
}

/// The strongly connected components of more than one module (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        for w in s.edges[v].iter().map(String::as_str) {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

/// Modules of the encryption layer, left out of the graph.
fn apart(module: &str) -> bool {
    module == "crypto"
        || module.starts_with("crypto/")
        || module == "encryption"
        || module == "verification"
}

fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.retain(|f| !apart(&module_of(src, f)));
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
    let items = root_items(src);
    let mut edges = BTreeMap::new();
    for file in &files {
        let current = module_of(src, file);
        let text = code(&std::fs::read_to_string(file).unwrap());
        let targets: BTreeSet<String> = paths(&text)
            .iter()
            .filter_map(|p| resolve(&modules, &items, &current, p))
            .filter(|m| !apart(m))
            .collect();
        edges.insert(current, targets);
    }
    edges
}

#[test]
fn no_two_modules_of_quotient_client_depend_on_each_other() {
    // Another tree can be checked by naming its `src` (an older commit's,
    // to see the circles this test keeps out).
    let src = std::env::var_os("MODULE_GRAPH_SRC").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        PathBuf::from,
    );
    let edges = graph(&src);
    assert!(
        edges["outbox/send"].contains("client"),
        "the graph is read: {edges:?}"
    );
    let found = circles(&edges);
    let shown: Vec<String> = found
        .iter()
        .map(|c| {
            let arrows: Vec<String> = c
                .iter()
                .map(|m| {
                    let to: Vec<&String> = edges[m].iter().filter(|t| c.contains(t)).collect();
                    format!("{m} -> {to:?}")
                })
                .collect();
            arrows.join("; ")
        })
        .collect();
    assert!(found.is_empty(), "import circles: {shown:#?}");
}

#[test]
fn the_check_finds_a_circle_when_there_is_one() {
    let dir = std::env::temp_dir().join(format!("module-graph-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
    std::fs::write(dir.join("a/mod.rs"), "mod x;\n").unwrap();
    std::fs::write(dir.join("a/x.rs"), "use crate::b::Thing;\n").unwrap();
    std::fs::write(dir.join("b.rs"), "use crate::{a::x::Other, c};\n").unwrap();
    let edges = graph(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        circles(&edges),
        vec![vec!["a/x".to_owned(), "b".to_owned()]]
    );
}
