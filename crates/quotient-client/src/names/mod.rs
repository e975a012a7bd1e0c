//! Display names: a room's (the spec's algorithm, heroes when unnamed) and
//! a member's (disambiguated when two members share one).
