//! `Retry-After` parsing on arbitrary text.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use quotient::jobs::fuzzing::parse_retry_after;

fuzz_target!(|text: &str| {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let parsed = parse_retry_after(text, now);
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        assert!(parsed.is_some(), "digits must parse: {text:?}");
    }
});
