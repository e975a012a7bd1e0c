//! docs/client.md shows the echo bot as it is in
//! `examples/echo_bot.rs` (which is built, and run against Synapse by the
//! `outbox` suite): the page cannot drift from the code.

#[test]
fn the_echo_bot_on_the_page_is_the_example_that_is_built_and_run() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let page = std::fs::read_to_string(format!("{root}/docs/client.md")).unwrap();
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/echo_bot.rs"))
            .unwrap();
    let start = page
        .find("```rust,no_run\n")
        .expect("a Rust block on the page")
        + 15;
    let end = start + page[start..].find("```").unwrap();
    let shown = &page[start..end];
    let code: String = example
        .lines()
        .filter(|l| !l.starts_with("//!"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        shown, code,
        "docs/client.md's echo bot differs from examples/echo_bot.rs"
    );
    let lines = code
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .count();
    assert!(lines < 30, "the echo bot has {lines} lines of code");
}
