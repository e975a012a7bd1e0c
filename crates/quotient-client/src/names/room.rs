//! A room's display name: its name, else its alias, else its heroes.

use super::member::{disambiguated_names, Member};

/// At most this many heroes are named; the rest are counted as "others".
/// Servers send five heroes by default, and a longer list makes a name
/// nobody can read in a room list.
const MAX_NAMED_HEROES: usize = 5;

/// What the room display-name algorithm needs, all borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoomNameInput<'a> {
    /// The `name` of the room's `m.room.name` state event.
    pub name: Option<&'a str>,
    /// The `alias` of the room's `m.room.canonical_alias` state event
    /// (never one of its `alt_aliases`).
    pub canonical_alias: Option<&'a str>,
    /// The room summary's `m.heroes`, with each hero's display name.
    ///
    /// Excluding the signed-in user is the caller's job (the server already
    /// leaves them out of `m.heroes`; a caller that builds heroes from its
    /// own member list must drop them too), as is ordering them.
    pub heroes: &'a [Member<'a>],
    /// The summary's `m.joined_member_count`, the signed-in user included.
    pub joined_member_count: u64,
    /// The summary's `m.invited_member_count`.
    pub invited_member_count: u64,
}

/// The name to show for a room, by the spec's algorithm.
///
/// 1. A non-empty `name` (one of only whitespace counts as empty).
/// 2. Else a non-empty `canonical_alias`.
/// 3. Else, when the room has someone besides the signed-in user (joined
///    plus invited is more than 1), the heroes' names, disambiguated among
///    themselves: `"Alice"`, `"Alice and Bob"`, `"Alice, Bob and Carol"`,
///    and `"Alice, Bob and 3 others"` when there are more members than
///    heroes named. The count of others is the members besides the
///    signed-in user that are not named (at least the unnamed heroes, if
///    the counts are behind the heroes list). At most five heroes are named.
/// 4. Else the room is empty but for the signed-in user: `"Empty Room"`,
///    or `"Empty Room (was Alice and Bob)"` naming the heroes (the former
///    members the server lists then).
///
/// One case the spec leaves open: members besides the signed-in user but
/// no heroes at all (a server that omitted them). The name is then
/// `"N people"`, N counting the signed-in user, rather than a misleading
/// "Empty Room".
///
/// ```
/// use quotient_api::UserId;
/// use quotient_client::names::{room_display_name, Member, RoomNameInput};
/// # fn main() -> Result<(), quotient_api::IdError> {
/// let (alice, bob) = (UserId::parse("@alice:example.org")?, UserId::parse("@bob:example.org")?);
/// let heroes = [
///     Member { user_id: &alice, display_name: Some("Alice") },
///     Member { user_id: &bob, display_name: None },
/// ];
/// let input = RoomNameInput {
///     name: None,
///     canonical_alias: None,
///     heroes: &heroes,
///     joined_member_count: 6,
///     invited_member_count: 0,
/// };
/// assert_eq!(room_display_name(&input), "Alice, @bob:example.org and 3 others");
/// # Ok(())
/// # }
/// ```
pub fn room_display_name(input: &RoomNameInput<'_>) -> String {
    if let Some(name) = non_empty(input.name) {
        return name.to_owned();
    }
    if let Some(alias) = non_empty(input.canonical_alias) {
        return alias.to_owned();
    }
    let members = input
        .joined_member_count
        .saturating_add(input.invited_member_count);
    let names = disambiguated_names(input.heroes);
    let named = names.len().min(MAX_NAMED_HEROES);
    if members > 1 {
        if names.is_empty() {
            return format!("{members} people");
        }
        let others_in_room = usize::try_from(members - 1).unwrap_or(usize::MAX);
        let others = others_in_room.max(names.len()) - named;
        join_names(&names[..named], others)
    } else if names.is_empty() {
        "Empty Room".to_owned()
    } else {
        format!(
            "Empty Room (was {})",
            join_names(&names[..named], names.len() - named)
        )
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// `"A"`, `"A and B"`, `"A, B and C"`, `"A, B and 2 others"`; `names` is
/// never empty here.
fn join_names(names: &[String], others: usize) -> String {
    let mut parts: Vec<&str> = names.iter().map(String::as_str).collect();
    let others_text;
    if others > 0 {
        others_text = if others == 1 {
            "1 other".to_owned()
        } else {
            format!("{others} others")
        };
        parts.push(&others_text);
    }
    match parts.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(user_id: &str, display_name: Option<&'static str>) -> Member<'static> {
        Member {
            // Leaked: a test's few IDs live as long as the test binary.
            user_id: Box::leak(Box::new(quotient_api::UserId::parse(user_id).unwrap())),
            display_name,
        }
    }

    fn alice() -> Member<'static> {
        member("@alice:x", Some("Alice"))
    }

    fn bob() -> Member<'static> {
        member("@bob:x", Some("Bob"))
    }

    fn carol() -> Member<'static> {
        member("@carol:x", None)
    }

    fn name(
        name: Option<&str>,
        alias: Option<&str>,
        heroes: &[Member<'_>],
        joined: u64,
        invited: u64,
    ) -> String {
        room_display_name(&RoomNameInput {
            name,
            canonical_alias: alias,
            heroes,
            joined_member_count: joined,
            invited_member_count: invited,
        })
    }

    #[test]
    fn the_name_wins() {
        assert_eq!(
            name(Some("Lounge"), Some("#l:x"), &[alice()], 2, 0),
            "Lounge"
        );
    }

    #[test]
    fn an_empty_name_falls_back_to_the_alias() {
        assert_eq!(name(Some(""), Some("#l:x"), &[alice()], 2, 0), "#l:x");
        assert_eq!(name(Some("  "), Some("#l:x"), &[alice()], 2, 0), "#l:x");
    }

    #[test]
    fn an_empty_alias_falls_back_to_the_heroes() {
        assert_eq!(name(None, Some(""), &[alice()], 2, 0), "Alice");
    }

    #[test]
    fn heroes_are_listed() {
        assert_eq!(name(None, None, &[alice()], 2, 0), "Alice");
        assert_eq!(name(None, None, &[alice(), bob()], 3, 0), "Alice and Bob");
        assert_eq!(
            name(None, None, &[alice(), bob(), carol()], 2, 2),
            "Alice, Bob and @carol:x"
        );
    }

    #[test]
    fn members_beyond_the_heroes_are_counted() {
        assert_eq!(
            name(None, None, &[alice(), bob()], 6, 0),
            "Alice, Bob and 3 others"
        );
        assert_eq!(name(None, None, &[alice()], 2, 1), "Alice and 1 other");
        assert_eq!(
            name(None, None, &[alice(), bob()], 1, 1234),
            "Alice, Bob and 1232 others"
        );
    }

    #[test]
    fn counts_behind_the_heroes_never_underflow() {
        assert_eq!(
            name(None, None, &[alice(), bob(), carol()], 2, 0),
            "Alice, Bob and @carol:x"
        );
    }

    #[test]
    fn at_most_five_heroes_are_named() {
        let heroes: Vec<Member<'_>> = ["@a:x", "@b:x", "@c:x", "@d:x", "@e:x", "@f:x", "@g:x"]
            .into_iter()
            .map(|user_id| member(user_id, None))
            .collect();
        assert_eq!(
            name(None, None, &heroes, 8, 0),
            "@a:x, @b:x, @c:x, @d:x, @e:x and 2 others"
        );
        assert_eq!(
            name(None, None, &heroes, 1, 0),
            "Empty Room (was @a:x, @b:x, @c:x, @d:x, @e:x and 2 others)"
        );
    }

    #[test]
    fn heroes_sharing_a_name_are_disambiguated() {
        let other_alice = member("@alice:y", Some("Alice"));
        assert_eq!(
            name(None, None, &[alice(), other_alice], 3, 0),
            "Alice (@alice:x) and Alice (@alice:y)"
        );
    }

    #[test]
    fn an_empty_room() {
        assert_eq!(name(None, None, &[], 1, 0), "Empty Room");
        assert_eq!(name(None, None, &[], 0, 0), "Empty Room");
    }

    #[test]
    fn an_empty_room_names_who_was_there() {
        assert_eq!(name(None, None, &[alice()], 1, 0), "Empty Room (was Alice)");
        assert_eq!(
            name(None, None, &[alice(), bob()], 0, 0),
            "Empty Room (was Alice and Bob)"
        );
    }

    #[test]
    fn members_without_heroes_are_counted() {
        assert_eq!(name(None, None, &[], 3, 1), "4 people");
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let n = name(None, None, &[alice()], u64::MAX, u64::MAX);
        assert!(n.starts_with("Alice and ") && n.ends_with(" others"), "{n}");
    }
}
