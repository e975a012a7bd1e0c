//! Redacted, size-bounded samples of bodies, for errors and logs.

use serde_json::Value;

const REDACTED: &str = "<redacted>";

/// Whether a JSON key or form field names a secret.
///
/// Exact names cover the spec's secrets; the suffix rules catch the
/// families (`id_access_token`, `new_password`, …) without listing each.
pub fn is_secret_key(key: &str) -> bool {
    matches!(
        key,
        "access_token" | "refresh_token" | "login_token" | "password" | "auth" | "token"
    ) || key.ends_with("_token")
        || key.ends_with("password")
}

/// A printable sample of `body`: secrets replaced by `<redacted>`, at most
/// `max_chars` characters (an ellipsis marks a cut).
///
/// JSON bodies are redacted structurally (a secret key's whole value goes,
/// objects included). Anything else — an HTML error page, truncated JSON —
/// goes through a scanner that looks for `key: value` and `key=value` pairs.
///
/// ```
/// use quotient_api::redacted_sample;
/// let s = redacted_sample(br#"{"user":"a","password":"hunter2"}"#, 200);
/// assert_eq!(s, r#"{"password":"<redacted>","user":"a"}"#);
/// ```
pub fn redacted_sample(body: &[u8], max_chars: usize) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut value) => {
            redact_value(&mut value);
            value.to_string()
        }
        Err(_) => redact_text(&String::from_utf8_lossy(body)),
    };
    truncate(text, max_chars)
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_key(key) {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

fn truncate(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text,
        Some((cut, _)) => {
            let mut out = text[..cut].to_owned();
            out.push('…');
            out
        }
    }
}

/// Redacts `key":"value"`, `key: {...}` and `key=value` forms in free text.
fn redact_text(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_alphanumeric() || b == b'_') || (i > 0 && is_word(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_word(bytes[i]) {
            i += 1;
        }
        if !is_secret_key(&text[start..i]) {
            continue;
        }
        let mut j = i;
        if bytes.get(j) == Some(&b'"') {
            j += 1;
        }
        j = skip_ws(bytes, j);
        if !matches!(bytes.get(j), Some(b':') | Some(b'=')) {
            continue;
        }
        let value_start = skip_ws(bytes, j + 1);
        let value_end = value_end(bytes, value_start);
        out.push_str(&text[copied..value_start]);
        out.push_str(REDACTED);
        copied = value_end;
        i = value_end.max(i);
    }
    out.push_str(&text[copied..]);
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// End (exclusive) of a value starting at `i`: a quoted string, a balanced
/// object/array, or a bare run up to a delimiter. Always a char boundary,
/// because every delimiter is ASCII.
fn value_end(bytes: &[u8], i: usize) -> usize {
    match bytes.get(i) {
        Some(b'"') => {
            let mut j = i + 1;
            while j < bytes.len() {
                match bytes[j] {
                    b'\\' => j += 2,
                    b'"' => return j + 1,
                    _ => j += 1,
                }
            }
            bytes.len()
        }
        Some(b'{') | Some(b'[') => {
            let mut depth = 0usize;
            let mut in_string = false;
            let mut j = i;
            while j < bytes.len() {
                match (in_string, bytes[j]) {
                    (true, b'\\') => j += 1,
                    (true, b'"') => in_string = false,
                    (false, b'"') => in_string = true,
                    (false, b'{') | (false, b'[') => depth += 1,
                    (false, b'}') | (false, b']') => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            bytes.len()
        }
        _ => {
            let mut j = i;
            while j < bytes.len()
                && !matches!(bytes[j], b'&' | b',' | b';' | b'}' | b'"' | b'\'' | b'<')
                && !bytes[j].is_ascii_whitespace()
            {
                j += 1;
            }
            j
        }
    }
    .min(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_secrets_are_redacted_at_any_depth() {
        let body = br#"{"auth":{"type":"m.login.password","password":"p1"},
            "nested":[{"access_token":"syt_x","ok":"visible"}],"new_password":"p2"}"#;
        let s = redacted_sample(body, 10_000);
        for secret in ["p1", "p2", "syt_x", "m.login.password"] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
        assert!(s.contains("visible"));
    }

    #[test]
    fn text_and_broken_json_are_scanned() {
        let cases: [&[u8]; 4] = [
            br#"{"login_token":"abc123","truncat"#,
            b"<a href='/x?access_token=abc123&v=1'>",
            br#"{"auth": {"password": "abc123", "x": "}"}, "k":1"#,
            b"token = abc123\npassword:\"abc123\\\"more\"",
        ];
        for body in cases {
            let s = redacted_sample(body, 10_000);
            assert!(!s.contains("abc123"), "leaked: {s}");
            assert!(s.contains(REDACTED), "{s}");
        }
        assert_eq!(
            redacted_sample(b"next_batch=s1 tokens=2", 100),
            "next_batch=s1 tokens=2"
        );
    }

    #[test]
    fn samples_are_bounded_on_char_boundaries() {
        let body = "é".repeat(5000);
        let s = redacted_sample(body.as_bytes(), 100);
        assert_eq!(s.chars().count(), 101);
        assert!(s.ends_with('…'));
        // Invalid UTF-8 does not panic.
        let s = redacted_sample(&[0xff, 0xfe, b'a', 0xc3], 10);
        assert!(s.contains('a'));
    }
}
