//! Loading spec files and following `$ref`s between them.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::yaml::{self, Node};

/// The pinned release this generator reads.
pub const SPEC_VERSION: &str = "v1.19";
pub const SPEC_COMMIT: &str = "b9c3d5ed3b0b46b2b025b4a427119036bc9ed71a";

/// Where a schema lives: a file (relative to the spec's `data/`) and a
/// JSON pointer inside it ("" for the whole file).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub file: PathBuf,
    pub pointer: String,
}

pub struct Spec {
    pub data_dir: PathBuf,
    files: HashMap<PathBuf, Node>,
}

impl Spec {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            files: HashMap::new(),
        }
    }

    /// The client-server API files, sorted.
    pub fn api_files(&self) -> Result<Vec<PathBuf>, String> {
        let dir = self.data_dir.join("api/client-server");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .map(|p| {
                p.strip_prefix(&self.data_dir)
                    .map(Path::to_path_buf)
                    .unwrap_or(p)
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// A whole file (relative to `data/`), parsed once.
    pub fn file(&mut self, rel: &Path) -> Result<&Node, String> {
        if !self.files.contains_key(rel) {
            let path = self.data_dir.join(rel);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let mut node = yaml::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            absolutize(&mut node, rel);
            self.files.insert(rel.to_path_buf(), node);
        }
        Ok(&self.files[rel])
    }

    /// The files read so far (relative to `data/`).
    pub fn loaded(&self) -> Vec<PathBuf> {
        self.files.keys().cloned().collect()
    }

    /// The node a `$ref` points at (`$ref`s are absolute once loaded).
    pub fn follow(&mut self, reference: &str) -> Result<Node, String> {
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        self.node(&Location {
            file: file.into(),
            pointer: pointer.into(),
        })
    }

    /// The node at a location.
    pub fn node(&mut self, loc: &Location) -> Result<Node, String> {
        let root = self.file(&loc.file)?;
        let mut node = root;
        for part in loc.pointer.split('/').filter(|p| !p.is_empty()) {
            let part = part.replace("~1", "/").replace("~0", "~");
            node = match node {
                Node::Map(_) => node.get(&part),
                Node::Seq(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            }
            .ok_or_else(|| format!("{}#{}: no such node", loc.file.display(), loc.pointer))?;
        }
        Ok(node.clone())
    }
}

/// Rewrites every `$ref` in a file to `file#pointer` relative to `data/`,
/// so a schema can be used away from its file. `$ref`s inside `example`
/// and `examples` point at example files; they are rewritten the same way
/// so an example can be read away from its file too (the model never
/// follows them as types: it does not descend into example values).
fn absolutize(node: &mut Node, file: &Path) {
    match node {
        Node::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                if key == "$ref" {
                    if let Node::Str(reference) = value {
                        let (target, pointer) = reference
                            .split_once('#')
                            .unwrap_or((reference.as_str(), ""));
                        let target = if target.is_empty() {
                            file.to_path_buf()
                        } else {
                            normalize(&file.parent().unwrap_or(Path::new("")).join(target))
                        };
                        *reference = format!("{}#{pointer}", target.display());
                    }
                    continue;
                }
                absolutize(value, file);
            }
        }
        Node::Seq(items) => items.iter_mut().for_each(|item| absolutize(item, file)),
        _ => {}
    }
}

/// Removes `.` and `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// A spec file's name without its extension (the module it becomes).
pub fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A `$ref`, made absolute when its file was loaded, as a location.
pub(crate) fn parse_abs_ref(reference: &str) -> Result<Location, String> {
    let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    if file.is_empty() {
        return Err(format!("unresolved relative $ref {reference}"));
    }
    Ok(Location {
        file: file.into(),
        pointer: pointer.to_owned(),
    })
}
