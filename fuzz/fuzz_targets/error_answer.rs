//! The error path on arbitrary status, headers and body: never a panic,
//! always an error status, a bounded sample.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quotient::jobs::fuzzing::error_from_answer;

fuzz_target!(|input: (u16, Vec<(String, Vec<u8>)>, Vec<u8>)| {
    let (status, raw_headers, body) = input;
    let mut headers = http::HeaderMap::new();
    for (name, value) in raw_headers {
        if let (Ok(name), Ok(value)) = (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_bytes(&value)) {
            headers.append(name, value);
        }
    }
    let error = error_from_answer(status, &headers, &body);
    assert!(!error.status().is_good(), "{status} classified as {:?}", error.status());
    assert!(error.body_sample().map_or(0, |s| s.chars().count()) <= 1025);
    let _ = error.to_string();
    let _ = format!("{error:?}");
    if let Some(uia) = error.uia_challenge() {
        for flow in &uia.flows {
            let _ = uia.next_stage(flow);
        }
    }
});
