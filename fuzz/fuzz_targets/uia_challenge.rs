//! The UIA challenge parser on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quotient_api::{ErrorBody, UiaChallenge};

fuzz_target!(|body: &[u8]| {
    if let Some(parsed) = ErrorBody::parse(body) {
        if let Some(challenge) = UiaChallenge::from_error_body(&parsed) {
            for flow in &challenge.flows {
                if let Some(stage) = challenge.next_stage(flow) {
                    assert!(!challenge.completed.iter().any(|c| c == stage));
                }
            }
        }
    }
});
