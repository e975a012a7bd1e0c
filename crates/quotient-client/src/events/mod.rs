//! Typed event content, with the original JSON always kept.
