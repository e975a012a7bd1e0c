//! Per-endpoint pauses after a rate limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use quotient_api::Method;
use tokio::time::Instant;

/// Until when each endpoint is paused after a 429, so that other jobs on
/// the same endpoint wait too while unrelated endpoints go on.
#[derive(Debug, Default)]
pub(crate) struct EndpointPauses {
    until: Mutex<HashMap<(Method, &'static str), Instant>>,
    /// Whether `until` may hold a pause: every attempt asks, and almost
    /// always nothing is paused.
    any: AtomicBool,
}

impl EndpointPauses {
    pub(crate) fn pause(&self, key: (Method, &'static str), until: Instant) {
        let mut map = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = map.entry(key).or_insert(until);
        *entry = (*entry).max(until);
        self.any.store(true, Ordering::Release);
    }

    /// When the endpoint may be used again, if it is paused now.
    pub(crate) fn paused_until(&self, key: (Method, &'static str)) -> Option<Instant> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let mut map = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        map.retain(|_, until| *until > now);
        // Cleared under the lock, so a pause being added is not lost.
        self.any.store(!map.is_empty(), Ordering::Release);
        map.get(&key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_are_per_endpoint_and_expire() {
        let pauses = EndpointPauses::default();
        let a = (Method::Post, "/a");
        pauses.pause(a, Instant::now() + std::time::Duration::from_secs(5));
        assert!(pauses.paused_until(a).is_some());
        assert!(pauses.paused_until((Method::Get, "/a")).is_none());
        tokio::time::advance(std::time::Duration::from_secs(6)).await;
        assert!(pauses.paused_until(a).is_none());
    }
}
