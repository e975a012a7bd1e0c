//! S9's parent: Synapse on the seeded directory, the rounds, the table and
//! the targets.

use std::time::Duration;

use super::{data_dir, run_child, Account, Outcome, Synapse};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn range(v: &[f64]) -> String {
    let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    if v.len() < 2 {
        String::new()
    } else {
        format!(" ({lo:.2}–{hi:.2})")
    }
}

/// The medians of one client's runs.
struct Summary {
    first: f64,
    all: f64,
    peak_mib: f64,
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "not met"
    }
}

/// `S9_CLIENTS=a,b` keeps only those clients; `S9_ROUNDS=n` rounds.
pub fn run(quick: bool, names: &[&str]) {
    let only = std::env::var("S9_CLIENTS").ok();
    let names: Vec<&str> = names.iter().copied().filter(|n| only.as_deref().is_none_or(|o| o.split(',').any(|c| c == *n))).collect();
    let rounds: usize = std::env::var("S9_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick { 1 } else { 3 });
    let deadline = Duration::from_secs(std::env::var("S9_TIMEOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(300));
    let dir = data_dir();
    let account = match Account::read(&dir) {
        Ok(a) => a,
        Err(e) => {
            println!("S9: {e}");
            return;
        }
    };
    let synapse = match Synapse::start(&dir) {
        Ok(s) => s,
        Err(e) => {
            println!("S9: {e}");
            return;
        }
    };
    println!();
    println!("S9 account: {} rooms on Synapse at {} ({}), {rounds} rounds after one warm-up", account.rooms, synapse.url, dir.display());
    if let Err(e) = run_child("quotient-v3", &synapse.url, deadline) {
        println!("S9 warm-up (quotient v3) failed: {e}");
    }
    let mut runs: Vec<Vec<Outcome>> = vec![Vec::new(); names.len()];
    let mut failures: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    for round in 0..rounds {
        for k in 0..names.len() {
            let i = (round + k) % names.len();
            match run_child(names[i], &synapse.url, deadline) {
                Ok(o) => runs[i].push(o),
                Err(e) => failures[i].push(e),
            }
        }
    }
    drop(synapse);
    println!();
    println!("| S9 client | first 20 rooms (named, last message) wall / CPU | all {} rooms wall / CPU | sync requests | peak RSS | store on disk | first 20 ÷ quotient sliding's | all ÷ quotient sliding's | peak RSS ÷ quotient sliding's |", account.rooms);
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut summaries: Vec<Option<Summary>> = Vec::new();
    let mut base: Option<(f64, f64, f64)> = None;
    for (i, name) in names.iter().enumerate() {
        if !failures[i].is_empty() {
            println!("| {name} | FAILED ({} of {rounds} runs): {} | | | | | | | |", failures[i].len(), failures[i][0]);
            summaries.push(None);
            continue;
        }
        let r = &runs[i];
        let pick = |f: fn(&Outcome) -> f64| r.iter().map(f).collect::<Vec<f64>>();
        let (first, all) = (pick(|o| o.first_wall), pick(|o| o.all_wall));
        let s = Summary { first: median(first.clone()), all: median(all.clone()), peak_mib: median(pick(|o| o.peak_kib as f64)) / 1024.0 };
        let (fc, ac) = (median(pick(|o| o.first_cpu)), median(pick(|o| o.all_cpu)));
        let b = *base.get_or_insert((s.first, s.all, s.peak_mib));
        println!(
            "| {name} | {:.3} s{} / {fc:.2} s | {:.2} s{} / {ac:.2} s | {:.0} | {:.1} MiB | {:.1} MiB | {:.2}× | {:.2}× | {:.2}× |",
            s.first,
            range(&first),
            s.all,
            range(&all),
            median(pick(|o| o.requests as f64)),
            s.peak_mib,
            median(pick(|o| o.store_bytes as f64)) / 1048576.0,
            s.first / b.0,
            s.all / b.1,
            s.peak_mib / b.2
        );
        summaries.push(Some(s));
    }
    let get = |n: &str| names.iter().position(|x| *x == n).and_then(|i| summaries[i].as_ref());
    let (Some(q), v3) = (get("quotient-sliding"), get("quotient-v3")) else { return };
    println!();
    println!("| S9 target | figures | |");
    println!("|---|---|---|");
    println!("| first 20 rooms in under 0.5 s | {:.3} s | {} |", q.first, mark(q.first < 0.5));
    if let Some(v3) = v3 {
        println!("| at least 3× faster than quotient's v3 initial sync | {:.2} s ÷ {:.3} s = {:.1}× | {} |", v3.all, q.first, v3.all / q.first, mark(v3.all / q.first >= 3.0));
    }
    if let Some(sdk) = get("matrix-sdk-sliding") {
        println!("| at least matrix-sdk's speed: first 20 rooms | {:.3} s vs {:.3} s | {} |", q.first, sdk.first, mark(q.first <= sdk.first));
        println!("| at least matrix-sdk's speed: all rooms | {:.2} s vs {:.2} s | {} |", q.all, sdk.all, mark(q.all <= sdk.all));
        println!("| at no more than half its peak RSS | {:.1} MiB vs {:.1} MiB ({:.2}×) | {} |", q.peak_mib, sdk.peak_mib, q.peak_mib / sdk.peak_mib, mark(q.peak_mib * 2.0 <= sdk.peak_mib));
    }
}
