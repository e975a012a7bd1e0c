//! Properties of path building and identifier validation.

use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use quotient_api::{encode_path_segment, QueryBuilder, RoomId, ServerName, UserId};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any string becomes exactly one path segment and decodes back.
    #[test]
    fn path_segments_round_trip(s in any::<String>()) {
        let encoded = encode_path_segment(&s);
        prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)), "{encoded}");
        prop_assert_eq!(percent_decode_str(&encoded).decode_utf8().unwrap(), s.as_str());
    }

    /// Query strings decode to the pairs that went in, in order.
    #[test]
    fn query_round_trips(pairs in proptest::collection::vec((any::<String>(), any::<String>()), 0..6)) {
        let mut q = QueryBuilder::new();
        for (k, v) in &pairs {
            q.push(k, v);
        }
        let text = q.finish();
        let decoded: Vec<(String, String)> = text
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (percent_decode_str(k).decode_utf8().unwrap().into_owned(), percent_decode_str(v).decode_utf8().unwrap().into_owned())
            })
            .collect();
        prop_assert_eq!(decoded, pairs);
    }

    /// Well-formed user IDs parse, keep their text, and survive serde.
    #[test]
    fn valid_user_ids_parse(local in "[a-z0-9._=/+-]{1,40}", host in "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,20}){0,3}", port in proptest::option::of(1u16..)) {
        let server = match port { Some(p) => format!("{host}:{p}"), None => host };
        let text = format!("@{local}:{server}");
        let id = UserId::parse(text.clone()).unwrap();
        prop_assert_eq!(id.as_str(), text.as_str());
        prop_assert_eq!(id.localpart(), local.as_str());
        prop_assert_eq!(id.server_name(), server.as_str());
        prop_assert_eq!(id.to_string(), text.clone());
        let json = serde_json::to_string(&id).unwrap();
        prop_assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), id);
        prop_assert!(ServerName::parse(server).is_ok());
    }

    /// For any string, parsing and deserialising agree, and what parses
    /// keeps its text exactly and has the right sigil.
    #[test]
    fn parse_and_deserialize_agree(s in any::<String>()) {
        let parsed = UserId::parse(s.clone());
        let json = serde_json::to_string(&s).unwrap();
        let deserialized = serde_json::from_str::<UserId>(&json);
        prop_assert_eq!(parsed.is_ok(), deserialized.is_ok());
        if let Ok(id) = parsed {
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert!(s.starts_with('@') && s.contains(':') && s.len() <= 255);
        }
        if let Ok(room) = RoomId::parse(s.clone()) {
            prop_assert!(room.as_str().starts_with('!'));
        }
    }
}
