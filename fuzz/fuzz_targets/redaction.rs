//! Body samples: never a panic, always bounded, never a planted secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quotient_api::redacted_sample;

const PLANTED: &str = "PLANTEDSECRETc0ffee";

fuzz_target!(|input: (Vec<u8>, u16, String)| {
    let (body, max, key) = input;
    let max = usize::from(max % 4096);
    let sample = redacted_sample(&body, max);
    assert!(sample.chars().count() <= max + 1);
    // A secret planted under a secret key in any JSON object is redacted.
    // (Keys are kept as they are, so a key that itself contains the
    // planted text proves nothing.)
    if quotient_api::is_secret_key(&key) && !key.contains(PLANTED) {
        let mut value = serde_json::from_slice::<serde_json::Value>(&body).unwrap_or(serde_json::json!({}));
        if let Some(map) = value.as_object_mut() {
            map.insert(key, serde_json::Value::String(PLANTED.into()));
            let text = serde_json::to_vec(&value).unwrap();
            assert!(!redacted_sample(&text, 100_000).contains(PLANTED));
        }
    }
});
