//! Matrix identifiers as validated newtypes.
//!
//! Validation checks structure (sigil, server part, length), not every
//! grammar rule: historical user IDs and new room ID formats must still
//! parse, while a value of the wrong kind (a room ID where a user ID
//! belongs) is refused.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Identifiers are at most 255 bytes, sigil and server name included.
const MAX_ID_BYTES: usize = 255;

/// A string that is not a valid identifier of the expected kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{value}`: {reason}")]
pub struct IdError {
    /// The identifier kind, e.g. "user ID".
    pub kind: &'static str,
    /// The rejected value (identifiers are public, not secrets).
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn check_server_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("the server name is empty");
    }
    let host = match s.strip_prefix('[') {
        Some(rest) => {
            let (ip, after) = rest.split_once(']').ok_or("unclosed IPv6 literal")?;
            if ip.is_empty()
                || !ip
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            {
                return Err("invalid IPv6 literal");
            }
            return match after {
                "" => Ok(()),
                port => check_port(port),
            };
        }
        None => match s.rsplit_once(':') {
            Some((host, port)) => {
                check_port(&format!(":{port}"))?;
                host
            }
            None => s,
        },
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err("the server name has characters a host name cannot have");
    }
    Ok(())
}

fn check_port(port: &str) -> Result<(), &'static str> {
    let digits = port.strip_prefix(':').ok_or("junk after the host")?;
    if digits.is_empty() || digits.len() > 5 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err("invalid port");
    }
    Ok(())
}

/// `sigil localpart ':' server_name`
fn check_sigil_and_server(s: &str, sigil: char) -> Result<(), &'static str> {
    let rest = s.strip_prefix(sigil).ok_or("wrong sigil")?;
    let (local, server) = rest.split_once(':').ok_or("no `:server` part")?;
    if local.is_empty() {
        return Err("the local part is empty");
    }
    check_server_name(server)
}

fn check_user_id(s: &str) -> Result<(), &'static str> {
    check_sigil_and_server(s, '@')
}

fn check_room_alias(s: &str) -> Result<(), &'static str> {
    check_sigil_and_server(s, '#')
}

/// Room IDs of room version 12 and later have no server part.
fn check_room_id(s: &str) -> Result<(), &'static str> {
    let rest = s.strip_prefix('!').ok_or("wrong sigil")?;
    if rest.is_empty() {
        return Err("the opaque part is empty");
    }
    Ok(())
}

/// Event IDs of room version 3 and later have no server part.
fn check_event_id(s: &str) -> Result<(), &'static str> {
    let rest = s.strip_prefix('$').ok_or("wrong sigil")?;
    if rest.is_empty() {
        return Err("the opaque part is empty");
    }
    Ok(())
}

fn check_mxc(s: &str) -> Result<(), &'static str> {
    let rest = s
        .strip_prefix("mxc://")
        .ok_or("does not start with mxc://")?;
    let (server, media) = rest.split_once('/').ok_or("no media ID")?;
    check_server_name(server)?;
    if media.is_empty()
        || !media
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("invalid media ID");
    }
    Ok(())
}

fn check_room_or_alias(s: &str) -> Result<(), &'static str> {
    match s.chars().next() {
        Some('!') => check_room_id(s),
        Some('#') => check_room_alias(s),
        _ => Err("neither a room ID (`!`) nor an alias (`#`)"),
    }
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $check:ident, $example:literal) => {
        $(#[$doc])*
        ///
        /// ```
        #[doc = concat!("use quotient_api::", stringify!($name), ";")]
        #[doc = concat!("let id: ", stringify!($name), " = \"", $example, "\".parse().unwrap();")]
        #[doc = concat!("assert_eq!(id.as_str(), \"", $example, "\");")]
        #[doc = concat!("assert!(\"not an id\".parse::<", stringify!($name), ">().is_err());")]
        /// ```
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an identifier.
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                let reason = if value.len() > MAX_ID_BYTES {
                    Err("longer than 255 bytes")
                } else {
                    $check(&value)
                };
                match reason {
                    Ok(()) => Ok(Self(value)),
                    Err(reason) => Err(IdError { kind: $kind, value, reason }),
                }
            }

            /// The identifier as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::parse(s).map_err(serde::de::Error::custom)
            }
        }

        impl crate::QueryValue for $name {
            fn to_query_string(&self) -> String {
                self.0.clone()
            }
        }
    };
}

identifier!(
    /// A user ID: `@localpart:server.name`.
    UserId, "user ID", check_user_id, "@alice:example.org"
);
identifier!(
    /// A room ID: `!opaque` (older rooms: `!opaque:server.name`).
    RoomId, "room ID", check_room_id, "!abc123:example.org"
);
identifier!(
    /// An event ID: `$opaque` (room versions 1–2: `$opaque:server.name`).
    EventId, "event ID", check_event_id, "$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg"
);
identifier!(
    /// A room alias: `#localpart:server.name`.
    RoomAliasId, "room alias", check_room_alias, "#matrix:example.org"
);
identifier!(
    /// A server name: a host name or IP literal with an optional port.
    ServerName, "server name", check_server_name, "matrix.example.org:8448"
);
identifier!(
    /// A content URI: `mxc://server.name/media_id`.
    MxcUri, "content URI", check_mxc, "mxc://example.org/SEsfnsuifSDFSSEF"
);
identifier!(
    /// A room ID or a room alias, where an endpoint takes either.
    RoomOrAliasId, "room ID or alias", check_room_or_alias, "#matrix:example.org"
);

impl UserId {
    /// The server part (after the first `:`).
    pub fn server_name(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, server)| server)
    }

    /// The local part, without the `@`.
    pub fn localpart(&self) -> &str {
        self.0[1..].split_once(':').map_or("", |(local, _)| local)
    }
}

impl MxcUri {
    /// The server that holds the media (after `mxc://`).
    ///
    /// ```
    /// let uri: quotient_api::MxcUri = "mxc://example.org:8448/abc".parse().unwrap();
    /// assert_eq!(uri.server_name().as_str(), "example.org:8448");
    /// assert_eq!(uri.media_id(), "abc");
    /// ```
    pub fn server_name(&self) -> ServerName {
        ServerName(self.parts().0.to_owned())
    }

    /// The media ID (after the server name's `/`).
    pub fn media_id(&self) -> &str {
        self.parts().1
    }

    fn parts(&self) -> (&str, &str) {
        // Validated by `check_mxc`: the prefix and one `/` are there.
        let rest = self.0.strip_prefix("mxc://").unwrap_or_default();
        rest.split_once('/').unwrap_or((rest, ""))
    }
}

impl From<RoomId> for RoomOrAliasId {
    fn from(id: RoomId) -> Self {
        Self(id.0)
    }
}

impl From<RoomAliasId> for RoomOrAliasId {
    fn from(alias: RoomAliasId) -> Self {
        Self(alias.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_is_checked() {
        assert!(UserId::parse("@a:b").is_ok());
        assert!(UserId::parse("@a:[::1]:8448").is_ok());
        assert!(UserId::parse("@a:localhost:8008").is_ok());
        for bad in ["a:b", "@:b", "@a", "@a:", "@a:b c", "!a:b", "@a:b:99999999"] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
        assert!(RoomId::parse("!opaque").is_ok());
        assert!(RoomId::parse("@a:b").is_err());
        assert!(EventId::parse("$x").is_ok());
        assert!(MxcUri::parse("mxc://example.org/abc-DEF_1").is_ok());
        assert!(MxcUri::parse("mxc://example.org/a/b").is_err());
        assert!(RoomOrAliasId::parse("!r:x").is_ok() && RoomOrAliasId::parse("#a:x").is_ok());
        assert!(RoomOrAliasId::parse("@u:x").is_err());
        assert!(UserId::parse(format!("@{}:x", "a".repeat(300))).is_err());
        let u = UserId::parse("@alice:example.org").unwrap();
        assert_eq!((u.localpart(), u.server_name()), ("alice", "example.org"));
    }

    #[test]
    fn content_uris_follow_the_spec_grammar() {
        for good in [
            "mxc://example.org/SEsfnsuifSDFSSEF",
            "mxc://localhost:8008/a",
            "mxc://127.0.0.1/abc_DEF-123",
            "mxc://[::1]:8448/x",
            "mxc://matrix-1.example.org/-_-",
        ] {
            let uri = MxcUri::parse(good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(uri.to_string(), good);
            assert_eq!(
                format!("mxc://{}/{}", uri.server_name().as_str(), uri.media_id()),
                good
            );
        }
        for bad in [
            "",
            "mxc://",
            "mxc:///abc",
            "mxc://example.org",
            "mxc://example.org/",
            "mxc://example.org/a/b",
            "mxc://example.org/a.b",
            "mxc://example.org/a%2Fb",
            "mxc://example.org/ä",
            "mxc://example.org/a?x=1",
            "mxc://exa mple.org/a",
            "mxc://example.org:99999999/a",
            "mxc://[::1/a",
            "http://example.org/a",
            "MXC://example.org/a",
        ] {
            assert!(MxcUri::parse(bad).is_err(), "{bad} was accepted");
        }
        let long = format!("mxc://example.org/{}", "a".repeat(300));
        assert!(MxcUri::parse(long).is_err());
        let json = serde_json::to_string(&MxcUri::parse("mxc://e.org/x").unwrap()).unwrap();
        assert_eq!(json, "\"mxc://e.org/x\"");
        assert!(serde_json::from_str::<MxcUri>("\"mxc://e.org/x/y\"").is_err());
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<UserId>("\"@a:b\"").is_ok());
        let err = serde_json::from_str::<UserId>("\"!room:b\"").unwrap_err();
        assert!(err.to_string().contains("invalid user ID"), "{err}");
    }
}
