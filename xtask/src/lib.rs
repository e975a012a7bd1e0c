//! The Client-Server API generator, as a library for its binary and tests.

mod build_fn;
pub mod check;
mod compose;
pub mod emit;
pub mod examples;
mod index;
pub mod model;
pub mod names;
mod naming;
pub mod ops;
pub mod record;
pub mod rules;
pub mod spec;
pub mod types;
pub mod yaml;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where the pinned spec is expected: `../shared/matrix-spec/v1.19` next
/// to the workspace, or `$QUOTIENT_SPEC_DIR`.
pub fn default_spec_dir() -> PathBuf {
    std::env::var_os("QUOTIENT_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/matrix-spec/v1.19"))
}

/// Where the generated modules go.
pub fn output_dir() -> PathBuf {
    workspace_root().join("crates/quotient-api/src/generated")
}

/// Formats Rust source with the toolchain's rustfmt.
pub fn rustfmt(source: &str) -> Result<String, String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("rustfmt has no stdin")?
        .write_all(source.as_bytes())
        .map_err(|e| format!("cannot write to rustfmt: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt failed: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "rustfmt rejected the output:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// The spec loaded and modelled, for tests that look at what the
/// generator saw (examples, shapes).
pub fn model(spec_dir: &Path) -> Result<(spec::Spec, model::Model), String> {
    let mut spec = spec::Spec::new(spec_dir.join("data"));
    let model = ops::build(&mut spec)?;
    Ok((spec, model))
}

/// Generates every file: (file name, formatted contents), sorted.
pub fn generate(spec_dir: &Path) -> Result<Vec<(String, String)>, String> {
    let data = spec_dir.join("data");
    if !data.join("api/client-server").is_dir() {
        return Err(format!(
            "the Matrix spec is not at {} (expected data/api/client-server inside); \
             set QUOTIENT_SPEC_DIR or check out ../shared",
            spec_dir.display()
        ));
    }
    let mut spec = spec::Spec::new(data);
    let model = ops::build(&mut spec)?;
    if !model.errors.is_empty() {
        return Err(model.errors.join("\n"));
    }
    let lost = check::lost_properties(&mut spec, &model)?;
    if !lost.is_empty() {
        return Err(format!(
            "{} spec properties would be lost by the generated types \
             (fix the mapping, or list a deliberate exception in xtask/src/check.rs):\n  {}",
            lost.len(),
            lost.join("\n  ")
        ));
    }
    let mut files = Vec::new();
    for (name, source) in emit::files(&model) {
        let formatted = rustfmt(&source).map_err(|e| format!("{name}: {e}"))?;
        files.push((name, formatted));
    }
    files.sort();
    Ok(files)
}
