//! Exact percent-encoding of path parameters and query strings.

use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything except RFC 3986 "unreserved" characters is encoded.
///
/// No character is treated as "already encoded": a `%` in a room alias is
/// sent as `%25`, so the server sees exactly the identifier it was given.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path parameter so it stays one path segment.
///
/// ```
/// use quotient_api::encode_path_segment;
/// assert_eq!(encode_path_segment("!room:example.org"), "%21room%3Aexample.org");
/// assert_eq!(encode_path_segment("#a/b c"), "%23a%2Fb%20c");
/// ```
pub fn encode_path_segment(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// Checks a built path against its operation's template, so that a
/// parameter cannot silently change which resource the URL names.
///
/// Refused: any segment that is `.` or `..` (also as `%2E`), which URL
/// normalisation would remove or use to climb a level, and an empty
/// parameter anywhere but at the end (`/rooms//state` names nothing; an
/// empty last parameter is the trailing `/` the spec uses for an empty
/// state key). `template` may be a template (`/rooms/{roomId}/…`) or, for
/// a raw request, anything else: then only dot segments are checked.
pub(crate) fn check_path(template: &str, path_and_query: &str) -> Result<(), crate::BuildError> {
    // Every job goes through here: no allocation unless there is an error.
    let path = path_and_query.split('?').next().unwrap_or(path_and_query);
    let count = path.split('/').count();
    let aligned = template.split('/').count() == count;
    let mut names = template.split('/');
    for (i, segment) in path.split('/').enumerate() {
        let name = names
            .next()
            .filter(|_| aligned)
            .and_then(|t| t.strip_prefix('{'))
            .and_then(|t| t.strip_suffix('}'));
        let parameter =
            || -> String { name.map_or_else(|| "a path segment".to_owned(), |n| format!("`{n}`")) };
        if is_dot_segment(segment) {
            return Err(crate::BuildError::Path(format!(
                "{} is `{segment}`, which would change the URL's path",
                parameter()
            )));
        }
        if segment.is_empty() && name.is_some() && i + 1 < count {
            return Err(crate::BuildError::Path(format!(
                "{} is empty, which would change the URL's path",
                parameter()
            )));
        }
    }
    Ok(())
}

/// `.` or `..`, also percent-encoded: URL parsers treat `%2e` as a dot.
fn is_dot_segment(segment: &str) -> bool {
    match strip_dot(segment) {
        Some("") => true,
        Some(rest) => strip_dot(rest) == Some(""),
        None => false,
    }
}

/// `s` after one leading dot, plain or percent-encoded.
fn strip_dot(s: &str) -> Option<&str> {
    s.strip_prefix('.').or_else(|| {
        s.get(..3)
            .filter(|p| p.eq_ignore_ascii_case("%2e"))
            .map(|_| &s[3..])
    })
}

/// Builds a query string (`?a=1&b=x`) with every key and value encoded.
///
/// Optional parameters that are `None` are left out; a list adds the key
/// once per item, which is how the spec's array query parameters travel.
#[derive(Debug, Default, Clone)]
pub struct QueryBuilder {
    out: String,
}

impl QueryBuilder {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `key=value`.
    pub fn push(&mut self, key: &str, value: &dyn QueryValue) -> &mut Self {
        self.out.push(if self.out.is_empty() { '?' } else { '&' });
        let _ = write!(
            self.out,
            "{}={}",
            utf8_percent_encode(key, COMPONENT),
            utf8_percent_encode(&value.to_query_string(), COMPONENT)
        );
        self
    }

    /// Appends `key=value` when the value is present.
    pub fn push_opt<V: QueryValue>(&mut self, key: &str, value: Option<&V>) -> &mut Self {
        if let Some(value) = value {
            self.push(key, value);
        }
        self
    }

    /// Appends `key=item` for every item.
    pub fn push_all<V: QueryValue>(&mut self, key: &str, values: &[V]) -> &mut Self {
        for value in values {
            self.push(key, value);
        }
        self
    }

    /// The query string, starting with `?`, or empty when nothing was added.
    pub fn finish(self) -> String {
        self.out
    }
}

/// A value that can travel in a query string.
pub trait QueryValue {
    /// The unencoded text form.
    fn to_query_string(&self) -> String;
}

macro_rules! display_query_value {
    ($($t:ty),*) => {$(
        impl QueryValue for $t {
            fn to_query_string(&self) -> String { self.to_string() }
        }
    )*};
}
display_query_value!(String, str, bool, u8, u16, u32, u64, i8, i16, i32, i64, f64, usize);

impl<T: QueryValue + ?Sized> QueryValue for &T {
    fn to_query_string(&self) -> String {
        (**self).to_query_string()
    }
}

impl QueryValue for crate::SecretString {
    fn to_query_string(&self) -> String {
        self.expose().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_encode_matrix_sigils_and_separators() {
        for (raw, encoded) in [
            ("@alice:example.org", "%40alice%3Aexample.org"),
            ("!r:x", "%21r%3Ax"),
            ("$ev/ent", "%24ev%2Fent"),
            ("#room alias:x", "%23room%20alias%3Ax"),
            ("a%20b", "a%2520b"),
            ("ünï", "%C3%BCn%C3%AF"),
            ("safe-._~", "safe-._~"),
            ("?&=", "%3F%26%3D"),
        ] {
            assert_eq!(encode_path_segment(raw), encoded, "{raw}");
        }
    }

    #[test]
    fn dot_segments_are_what_a_url_parser_decodes_to_a_dot_or_two() {
        // The reading URL parsers use: decode `%2e`, then compare.
        let decoded = |s: &str| {
            let d = s.replace("%2e", ".").replace("%2E", ".");
            d == "." || d == ".."
        };
        let parts = [".", "%2e", "%2E", "%2", "e", "a", "%", "é"];
        let mut cases = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = cases
                .iter()
                .flat_map(|c| parts.iter().map(move |p| format!("{c}{p}")))
                .collect();
            cases.extend(longer);
        }
        for case in &cases {
            assert_eq!(is_dot_segment(case), decoded(case), "{case:?}");
        }
    }

    #[test]
    fn dot_and_inner_empty_parameters_are_refused() {
        let template = "/_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}";
        let path = |room: &str, key: &str| {
            format!(
                "/_matrix/client/v3/rooms/{}/state/m.room.name/{}?x=1",
                encode_path_segment(room),
                encode_path_segment(key)
            )
        };
        assert_eq!(check_path(template, &path("!r:x", "")), Ok(()));
        assert_eq!(check_path(template, &path("!r:x", "...")), Ok(()));
        for (room, key, what) in [
            ("..", "", "`roomId` is `..`"),
            (".", "", "`roomId` is `.`"),
            ("!r:x", "..", "`stateKey` is `..`"),
            ("", "k", "`roomId` is empty"),
        ] {
            let err = check_path(template, &path(room, key)).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        }
        // Raw paths: dot segments, also encoded, whatever the template.
        for raw in [
            "/_matrix/client/v3/../versions",
            "/_matrix/%2E%2e/x",
            "/a/./b",
        ] {
            assert!(check_path("(custom)", raw).is_err(), "{raw}");
        }
        assert!(check_path("(custom)", "/_matrix/client/v3/x//y").is_ok());
    }

    #[test]
    fn query_builder_encodes_and_skips_absent_values() {
        let mut q = QueryBuilder::new();
        q.push("since", &"s72594_4483_1934")
            .push_opt::<u64>("timeout", Some(&30000))
            .push_opt::<bool>("full_state", None)
            .push_all("dir", &["a b", "c&d"]);
        assert_eq!(
            q.finish(),
            "?since=s72594_4483_1934&timeout=30000&dir=a%20b&dir=c%26d"
        );
        assert_eq!(QueryBuilder::new().finish(), "");
    }
}
