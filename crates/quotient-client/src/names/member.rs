//! A member's display name, disambiguated against the other members.

use std::collections::HashMap;

use quotient_api::UserId;

/// One room member as the naming functions see it: the user ID and the
/// `displayname` of their `m.room.member` event, if any.
///
/// Borrowed, so a caller can build a slice of these straight from stored
/// rows without copying strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member<'a> {
    /// The member's user ID (`@localpart:server`).
    pub user_id: &'a UserId,
    /// The `displayname` of their member event; `None` when absent or null.
    pub display_name: Option<&'a str>,
}

impl Member<'_> {
    /// The display name if it can be shown as one: an empty or
    /// whitespace-only name would render as nothing, so it counts as none
    /// and the user ID is shown instead.
    pub(crate) fn usable_name(&self) -> Option<&str> {
        self.display_name.filter(|n| !n.trim().is_empty())
    }
}

/// The names to show for `members`, in the same order.
///
/// Following the spec's rules for a user's display name:
///
/// - no display name (absent, null, empty or only whitespace) → the user ID;
/// - a display name no other member uses → that name;
/// - a display name that another member (a different user ID) also uses,
///   or one that looks like a user ID (starts with `@` and has a `:`) →
///   `"Name (@user:server)"`, so nobody can pass as someone else.
///
/// Names are compared exactly, as the spec says; the same user listed
/// twice does not make their own name ambiguous. Which members to pass is
/// the caller's choice: the spec compares against joined and invited
/// members.
///
/// ```
/// use quotient_api::UserId;
/// use quotient_client::names::{disambiguated_names, Member};
/// # fn main() -> Result<(), quotient_api::IdError> {
/// let ids = [
///     UserId::parse("@alice:example.org")?,
///     UserId::parse("@alice:evil.example")?,
///     UserId::parse("@bob:example.org")?,
///     UserId::parse("@carol:example.org")?,
/// ];
/// let names = [Some("Alice"), Some("Alice"), Some("Bob"), None];
/// let members: Vec<Member<'_>> = ids
///     .iter()
///     .zip(names)
///     .map(|(user_id, display_name)| Member { user_id, display_name })
///     .collect();
/// assert_eq!(disambiguated_names(&members), [
///     "Alice (@alice:example.org)",
///     "Alice (@alice:evil.example)",
///     "Bob",
///     "@carol:example.org",
/// ]);
/// # Ok(())
/// # }
/// ```
pub fn disambiguated_names(members: &[Member<'_>]) -> Vec<String> {
    // For each name: the first user ID seen with it, and whether a second,
    // different user ID uses it too.
    let mut users_by_name: HashMap<&str, (&UserId, bool)> = HashMap::with_capacity(members.len());
    for member in members {
        if let Some(name) = member.usable_name() {
            users_by_name
                .entry(name)
                .and_modify(|(first, shared)| *shared |= *first != member.user_id)
                .or_insert((member.user_id, false));
        }
    }
    members
        .iter()
        .map(|member| match member.usable_name() {
            None => member.user_id.as_str().to_owned(),
            Some(name) => {
                let shared = users_by_name.get(name).is_some_and(|(_, shared)| *shared);
                if shared || looks_like_user_id(name) {
                    format!("{name} ({})", member.user_id)
                } else {
                    name.to_owned()
                }
            }
        })
        .collect()
}

/// Whether a display name could be mistaken for a user ID. Deliberately
/// loose (no grammar check): a name that merely resembles one is enough to
/// mislead a reader.
fn looks_like_user_id(name: &str) -> bool {
    let name = name.trim_start();
    name.starts_with('@') && name.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(user_id: &str, display_name: Option<&'static str>) -> Member<'static> {
        Member {
            // Leaked: a test's few IDs live as long as the test binary.
            user_id: Box::leak(Box::new(UserId::parse(user_id).unwrap())),
            display_name,
        }
    }

    #[test]
    fn unique_names_are_shown_as_they_are() {
        let members = [m("@a:x", Some("Alice")), m("@b:x", Some("Bob"))];
        assert_eq!(disambiguated_names(&members), ["Alice", "Bob"]);
    }

    #[test]
    fn no_display_name_shows_the_user_id() {
        assert_eq!(disambiguated_names(&[m("@a:x", None)]), ["@a:x"]);
    }

    #[test]
    fn empty_or_blank_display_name_shows_the_user_id() {
        let members = [
            m("@a:x", Some("")),
            m("@b:x", Some("  ")),
            m("@c:x", Some("")),
        ];
        assert_eq!(disambiguated_names(&members), ["@a:x", "@b:x", "@c:x"]);
    }

    #[test]
    fn a_shared_name_is_disambiguated_for_every_holder() {
        let members = [
            m("@a:x", Some("Sam")),
            m("@b:x", Some("Bob")),
            m("@c:y", Some("Sam")),
            m("@d:z", Some("Sam")),
        ];
        assert_eq!(
            disambiguated_names(&members),
            ["Sam (@a:x)", "Bob", "Sam (@c:y)", "Sam (@d:z)"]
        );
    }

    #[test]
    fn names_are_compared_exactly() {
        let members = [m("@a:x", Some("Sam")), m("@b:x", Some("sam"))];
        assert_eq!(disambiguated_names(&members), ["Sam", "sam"]);
    }

    #[test]
    fn a_name_that_looks_like_a_user_id_is_disambiguated() {
        let members = [
            m("@mallory:x", Some("@alice:example.org")),
            m("@b:x", Some("@ symbol")),
        ];
        assert_eq!(
            disambiguated_names(&members),
            ["@alice:example.org (@mallory:x)", "@ symbol"]
        );
    }

    #[test]
    fn the_same_user_twice_is_not_ambiguous_with_itself() {
        let members = [m("@a:x", Some("Alice")), m("@a:x", Some("Alice"))];
        assert_eq!(disambiguated_names(&members), ["Alice", "Alice"]);
    }

    #[test]
    fn a_display_name_equal_to_another_members_user_id_is_disambiguated() {
        let members = [m("@alice:x", None), m("@eve:x", Some("@alice:x"))];
        assert_eq!(
            disambiguated_names(&members),
            ["@alice:x", "@alice:x (@eve:x)"]
        );
    }

    #[test]
    fn no_members_no_names() {
        assert!(disambiguated_names(&[]).is_empty());
    }
}
