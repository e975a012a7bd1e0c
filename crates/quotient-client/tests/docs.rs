//! docs/client.md shows the two example bots as they are in
//! `examples/echo_bot.rs` (built, and run against Synapse by the `outbox`
//! and `synapse_jspeer` suites) and `examples/moderation_bot.rs`: the page
//! cannot drift from the code, and each stays as short as issue #22 asks.

/// The `n`th `rust,no_run` block of docs/client.md.
fn block(n: usize) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let page = std::fs::read_to_string(format!("{root}/docs/client.md")).unwrap();
    let mut rest = page.as_str();
    for _ in 0..n {
        let at = rest.find("```rust,no_run\n").expect("a Rust block") + 15;
        rest = &rest[at..];
        rest = &rest[rest.find("```").unwrap()..];
    }
    let start = rest
        .find("```rust,no_run\n")
        .expect("a Rust block on the page")
        + 15;
    let end = start + rest[start..].find("```").unwrap();
    rest[start..end].to_owned()
}

/// The example's code without its `//!` header, and its lines of code.
fn example(name: &str) -> (String, usize) {
    let path = format!("{}/examples/{name}.rs", env!("CARGO_MANIFEST_DIR"));
    let code: String = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("//!"))
        .map(|l| format!("{l}\n"))
        .collect();
    let lines = code
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .count();
    (code, lines)
}

#[test]
fn the_echo_bot_on_the_page_is_the_example_that_is_built_and_run() {
    let (code, lines) = example("echo_bot");
    assert_eq!(
        block(0),
        code,
        "docs/client.md's echo bot differs from examples/echo_bot.rs"
    );
    assert!(lines <= 15, "the echo bot has {lines} lines of code");
}

#[test]
fn the_moderation_bot_on_the_page_is_the_example() {
    let (code, lines) = example("moderation_bot");
    assert_eq!(
        block(1),
        code,
        "docs/client.md's moderation bot differs from examples/moderation_bot.rs"
    );
    assert!(lines < 40, "the moderation bot has {lines} lines of code");
}
