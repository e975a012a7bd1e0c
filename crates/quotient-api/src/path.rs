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
