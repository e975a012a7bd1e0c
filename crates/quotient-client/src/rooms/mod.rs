//! Views of a room read from the store with no network: its members with
//! disambiguated display names, tags, and direct chats.
