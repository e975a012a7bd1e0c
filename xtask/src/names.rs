//! Rust names from spec names.

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "override", "priv", "pub", "ref", "return", "self", "Self", "static", "struct", "super",
    "trait", "true", "type", "unsafe", "use", "where", "while", "yield", "abstract", "become",
    "box", "do", "final", "macro", "typeof", "unsized", "virtual", "try",
];

/// Splits `roomId`, `m.login.password`, `Content-Type`, `SSO_LOGIN` into words.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let boundary = c.is_ascii_uppercase()
            && i > 0
            && (chars[i - 1].is_ascii_lowercase()
                || chars[i - 1].is_ascii_digit()
                || (chars[i - 1].is_ascii_uppercase()
                    && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())));
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

pub fn pascal(name: &str) -> String {
    let out: String = words(name)
        .iter()
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut cs = lower.chars();
            cs.next()
                .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect();
    match out.chars().next() {
        None => "Empty".into(),
        Some(c) if c.is_ascii_digit() => format!("V{out}"),
        _ => out,
    }
}

pub fn snake(name: &str) -> String {
    let out = words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    let out = match out.chars().next() {
        None => "field".into(),
        Some(c) if c.is_ascii_digit() => format!("n{out}"),
        _ => out,
    };
    if KEYWORDS.contains(&out.as_str()) {
        format!("{out}_")
    } else {
        out
    }
}

/// Enum values that are not words (pagination's `dir`), and the words
/// their variants are named with.
const VARIANT_WORDS: &[(&str, &str)] = &[("b", "Backward"), ("f", "Forward")];

/// A string enum variant for a wire value: `b` → `Backward` (from
/// [`VARIANT_WORDS`]), `m.read.private` → `ReadPrivate` (the `m.`
/// namespace every spec value has adds nothing), `public_chat` →
/// `PublicChat`.
pub fn variant(value: &str) -> String {
    if let Some((_, word)) = VARIANT_WORDS.iter().find(|(v, _)| *v == value) {
        return (*word).to_owned();
    }
    match value.strip_prefix("m.") {
        Some(rest) if !rest.is_empty() => pascal(rest),
        _ => pascal(value),
    }
}

/// Rust module name for a spec file stem (`account-data` → `account_data`).
pub fn module(stem: &str) -> String {
    snake(stem)
}

/// The request type's name: the operationId with its first letter
/// capitalised, so grepping for the operationId finds it.
/// An `_` capitalises the next letter (`logout_all` → `LogoutAll`).
pub fn operation_type(operation_id: &str) -> String {
    let mut out = String::with_capacity(operation_id.len());
    let mut upper = true;
    for c in operation_id.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake("roomId"), "room_id");
        assert_eq!(snake("m.homeserver"), "m_homeserver");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("Content-Type"), "content_type");
        assert_eq!(snake("device_keys"), "device_keys");
        assert_eq!(snake("3pid"), "n3pid");
        assert_eq!(pascal("generateLoginToken"), "GenerateLoginToken");
        assert_eq!(pascal("m.login.password"), "MLoginPassword");
        assert_eq!(pascal("getURLPreview"), "GetUrlPreview");
        assert_eq!(pascal("SSOLoginFlow"), "SsoLoginFlow");
        assert_eq!(pascal(""), "Empty");
        assert_eq!(pascal("1.1"), "V11");
        assert_eq!(variant("b"), "Backward");
        assert_eq!(variant("f"), "Forward");
        assert_eq!(variant("m.read.private"), "ReadPrivate");
        assert_eq!(variant("m.megolm.v1.aes-sha2"), "MegolmV1AesSha2");
        assert_eq!(variant("public_chat"), "PublicChat");
        assert_eq!(operation_type("generateLoginToken"), "GenerateLoginToken");
        assert_eq!(operation_type("post3PIDs"), "Post3PIDs");
        assert_eq!(operation_type("logout_all"), "LogoutAll");
    }
}
