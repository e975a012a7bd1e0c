//! Client CPU per operation: each client in a process of its own, the
//! stub in the parent, and `getrusage(RUSAGE_SELF)` (user + system, every
//! thread) around the timed loop, so the figure is the client's alone.

use std::time::{Duration, Instant};

use crate::clients::{Client, Op};

/// User + system CPU this process has used so far, all threads.
pub fn process_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we hand it and has
    // no other preconditions.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// In the child: `warm` untimed operations, then `n` timed ones; prints
/// wall and CPU microseconds per operation.
pub async fn child_loop(client: &dyn Client, op: Op, n: usize, warm: usize) {
    for _ in 0..warm {
        client.run(op).await;
    }
    let (start, cpu) = (Instant::now(), process_cpu());
    for _ in 0..n {
        client.run(op).await;
    }
    let wall = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    let cpu = (process_cpu() - cpu).as_secs_f64() * 1e6 / n as f64;
    println!("{wall} {cpu}");
}

/// The median of `values` (sorted here).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
