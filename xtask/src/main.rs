//! `cargo run -p xtask -- codegen [--check] [--spec DIR]`

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo run -p xtask -- codegen [--check] [--spec DIR]

  codegen          regenerate crates/quotient-api/src/generated/ from the spec
  codegen --check  exit 1 if the committed files differ from what would be generated
  --spec DIR       the spec release (default: ../shared/matrix-spec/v1.19, or $QUOTIENT_SPEC_DIR)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("codegen") {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let mut check = false;
    let mut spec_dir = xtask::default_spec_dir();
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--spec" => match rest.next() {
                Some(dir) => spec_dir = PathBuf::from(dir),
                None => {
                    eprintln!("--spec needs a directory\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!("unknown argument `{other}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match run(&spec_dir, check) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("codegen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(spec_dir: &std::path::Path, check: bool) -> Result<ExitCode, String> {
    let files = xtask::generate(spec_dir)?;
    let out_dir = xtask::output_dir();
    let existing: Vec<String> = std::fs::read_dir(&out_dir)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".rs"))
                .collect()
        })
        .unwrap_or_default();
    let stale: Vec<&String> = existing
        .iter()
        .filter(|n| !files.iter().any(|(f, _)| f == *n))
        .collect();
    if check {
        let mut differs: Vec<String> = files
            .iter()
            .filter(|(name, text)| {
                std::fs::read_to_string(out_dir.join(name)).ok().as_deref() != Some(text.as_str())
            })
            .map(|(name, _)| name.clone())
            .collect();
        differs.extend(
            stale
                .iter()
                .map(|n| format!("{n} (not generated any more)")),
        );
        if differs.is_empty() {
            println!("codegen --check: {} files match the spec", files.len());
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("codegen --check: the committed code differs from the generator's output in:");
        for name in differs {
            eprintln!("  crates/quotient-api/src/generated/{name}");
        }
        eprintln!("run `cargo run -p xtask -- codegen` and commit the result");
        return Ok(ExitCode::FAILURE);
    }
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    for name in stale {
        std::fs::remove_file(out_dir.join(name))
            .map_err(|e| format!("cannot remove {name}: {e}"))?;
    }
    for (name, text) in &files {
        let path = out_dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    println!(
        "codegen: wrote {} files to {}",
        files.len(),
        out_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
