//! quotient-bench: the request layer against raw HTTP on a loopback stub.
//!
//!   quotient-bench [--quick]             run S1–S5, print the table
//!   quotient-bench [--quick] --latency   only S1 and S2
//!   quotient-bench [--quick] --no-s7     S1–S5 without S7
//!   quotient-bench --profile raw|quotient N [token|s3]   one client, N times, for perf
//!   quotient-bench --child S C ADDR      one measured run in a fresh process
//!   quotient-bench [--quick] --s9        only S9 (sliding sync on a real Synapse)
//!
//! Scenarios run A/B interleaved (ABBA rounds) so machine drift cancels out.

mod clients;
mod cpu;
#[cfg(feature = "matrix-sdk")]
mod sdk;
mod s7;
mod s9;
mod stub;
mod sync_body;

use std::process::Command;
use std::time::{Duration, Instant};

use clients::{Client, Raw, Quotient};

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Stats {
    median_us: f64,
    p99_us: f64,
}

fn stats(mut samples: Vec<u64>) -> Stats {
    samples.sort_unstable();
    Stats { median_us: percentile(&samples, 0.5) as f64 / 1000.0, p99_us: percentile(&samples, 0.99) as f64 / 1000.0 }
}

/// Runs `per_round` iterations of `op` for each client per round, in ABBA
/// order, and returns per-iteration latencies (ns) per client.
async fn interleaved(clients: &[&dyn Client], rounds: usize, per_round: usize, op: clients::Op) -> Vec<Vec<u64>> {
    let n = clients.len();
    let mut samples: Vec<Vec<u64>> = (0..n).map(|_| Vec::with_capacity(rounds * per_round)).collect();
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 { (0..n).collect() } else { (0..n).rev().collect() };
        for i in order {
            for _ in 0..per_round {
                let start = Instant::now();
                clients[i].run(op).await;
                samples[i].push(start.elapsed().as_nanos() as u64);
            }
        }
    }
    samples
}

fn vm(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1).map(str::to_owned)))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn row(scenario: &str, client: &str, value: String, ratio: Option<f64>) {
    let ratio = ratio.map(|r| format!("{r:.2}×")).unwrap_or_else(|| "—".into());
    println!("| {scenario} | {client} | {value} | {ratio} |");
}

async fn child(scenario: &str, client: &str, addr: &str) {
    if scenario == "s9" {
        s9::child(client, addr).await;
        return;
    }
    if scenario == "s7" {
        let batches = std::env::var("S7_BATCHES").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
        match client {
            #[cfg(feature = "matrix-sdk")]
            "matrix-sdk" => s7::child_sdk(addr, batches, false).await,
            #[cfg(feature = "matrix-sdk")]
            "matrix-sdk-sqlite" => s7::child_sdk(addr, batches, true).await,
            _ => s7::child_quotient(addr, batches).await,
        }
        return;
    }
    let base: url::Url = format!("http://{addr}").parse().unwrap();
    // The same limit on requests in flight for every client, or none.
    let limit: Option<usize> = std::env::var("S3_LIMIT").ok().and_then(|v| v.parse().ok());
    let c: Box<dyn Client> = match client {
        "raw" => Box::new(Raw::new(base, limit).await),
        #[cfg(feature = "matrix-sdk")]
        "matrix-sdk" => Box::new(sdk::Sdk::new(base, limit).await),
        _ => Box::new(Quotient::new(base, limit).await),
    };
    let ops: usize = std::env::var("OPS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    match scenario {
        "s1" => cpu::child_loop(&*c, clients::Op::Versions, ops, 200).await,
        "s2" => cpu::child_loop(&*c, clients::Op::TokenFlow, ops, 100).await,
        "s3" => {
            let flows = 1000;
            let rss_before = vm("VmRSS:");
            let (start, cpu) = (Instant::now(), cpu::process_cpu());
            c.concurrent_flows(flows).await;
            let secs = start.elapsed().as_secs_f64();
            let cpu_us = (cpu::process_cpu() - cpu).as_secs_f64() * 1e6 / flows as f64;
            println!("{} {} {} {}", flows as f64 / secs, vm("VmHWM:"), rss_before, cpu_us);
        }
        _ => {
            let jobs: usize = std::env::var("S4_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
            let before = vm("VmRSS:");
            let cpu_start = cpu::process_cpu();
            let pending = c.hold_pending(jobs).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let during = vm("VmRSS:");
            let start = Instant::now();
            pending.abandon_all().await;
            let abandon = start.elapsed();
            // Starting, holding (the sleep costs nothing) and abandoning, per job.
            let cpu_us = (cpu::process_cpu() - cpu_start).as_secs_f64() * 1e6 / jobs as f64;
            println!("{} {} {}", (during.saturating_sub(before)) as f64 * 1024.0 / jobs as f64, abandon.as_secs_f64() * 1000.0, cpu_us);
        }
    }
}

fn run_child(scenario: &str, client: &str, addr: &str, env: &[(&str, String)]) -> Vec<f64> {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--child", scenario, client, addr]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("child runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|v| v.parse().ok()).collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(&args[2], &args[3], &args[4]).await;
        return;
    }
    if args.get(1).map(String::as_str) == Some("--profile") {
        // One client, one operation, many times: for perf.
        let addr = stub::start();
        let base: url::Url = format!("http://{addr}").parse().unwrap();
        let n: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(50_000);
        // `s3`: rounds of 1,000 concurrent flows, with S3_LIMIT as in S3.
        let s3 = args.iter().any(|a| a == "s3");
        let limit: Option<usize> = std::env::var("S3_LIMIT").ok().and_then(|v| v.parse().ok());
        let client: Box<dyn Client> = match args.get(2).map(String::as_str) {
            Some("raw") => Box::new(Raw::new(base, if s3 { limit } else { None }).await),
            _ => Box::new(Quotient::new(base, if s3 { limit } else { Some(16) }).await),
        };
        let op = if args.iter().any(|a| a == "token") { clients::Op::TokenFlow } else { clients::Op::Versions };
        let start = Instant::now();
        for _ in 0..n {
            if s3 {
                client.concurrent_flows(1000).await;
            } else {
                client.run(op).await;
            }
        }
        println!("{:.1} µs per op", start.elapsed().as_secs_f64() * 1e6 / n as f64);
        // CPU time per op of each thread (the client's is on the critical path).
        for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
            let on_cpu_ns: f64 = std::fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
                .unwrap_or(0.0);
            let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            // utime and stime, in clock ticks (fields 14 and 15 of stat).
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            let ticks: Vec<f64> = after_comm.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
            let per_op = |t: f64| t * 10_000.0 / n as f64;
            println!(
                "  thread {}: {:.1} µs CPU per op (user {:.1}, system {:.1})",
                name.trim(),
                on_cpu_ns / 1e3 / n as f64,
                ticks.first().copied().map(per_op).unwrap_or(0.0),
                ticks.get(1).copied().map(per_op).unwrap_or(0.0)
            );
        }
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    #[allow(unused_mut)]
    let mut s7_names = vec!["quotient"];
    #[cfg(feature = "matrix-sdk")]
    s7_names.extend(["matrix-sdk", "matrix-sdk-sqlite"]);
    if args.iter().any(|a| a == "--s9") {
        // S9 only: sliding sync on a real Synapse with the seeded account.
        #[allow(unused_mut)]
        let mut s9_names = vec!["quotient-sliding", "quotient-v3"];
        #[cfg(feature = "matrix-sdk")]
        s9_names.push("matrix-sdk-sliding");
        s9::run(quick, &s9_names);
        return;
    }
    if args.iter().any(|a| a == "--s8") {
        // S8 only: an encrypted account, keys imported, into each client's
        // store; matrix-sdk on its SQLite stores (its in-memory store with
        // `S7_CLIENTS=quotient,matrix-sdk-sqlite,matrix-sdk`).
        #[allow(unused_mut)]
        let mut s8_names = vec!["quotient"];
        #[cfg(feature = "matrix-sdk")]
        s8_names.extend(["matrix-sdk-sqlite", "matrix-sdk"]);
        if std::env::var("S7_CLIENTS").is_err() {
            s8_names.retain(|n| *n != "matrix-sdk");
        }
        s7::run_s8(quick, &s8_names);
        return;
    }
    if args.iter().any(|a| a == "--s7") {
        // S7 only: whole-account sync into each client's store.
        s7::run(quick, &s7_names);
        return;
    }
    let addr = stub::start();
    let base: url::Url = format!("http://{addr}").parse().unwrap();
    // Sequential scenarios: each client with its defaults (quotient's is 16
    // jobs on the wire; raw and matrix-sdk have no limit).
    let raw = Raw::new(base.clone(), None).await;
    let quotient = Quotient::new(base.clone(), Some(16)).await;
    #[allow(unused_mut)]
    let mut clients: Vec<&dyn Client> = vec![&raw, &quotient];
    #[allow(unused_mut)]
    let mut names = vec!["raw", "quotient"];
    #[cfg(feature = "matrix-sdk")]
    let sdk_client = sdk::Sdk::new(base.clone(), None).await;
    #[cfg(feature = "matrix-sdk")]
    {
        clients.push(&sdk_client);
        names.push("matrix-sdk");
    }
    let scale = if quick { 10 } else { 1 };

    println!("| scenario | client | result | vs raw |");
    println!("|---|---|---|---|");

    // S1: sequential GET /versions on one connection.
    let n = 20_000 / scale;
    let samples = interleaved(&clients, 20, n / 20, clients::Op::Versions).await;
    let s: Vec<Stats> = samples.into_iter().map(stats).collect();
    for (i, name) in names.iter().enumerate() {
        row(&format!("S1 GET /versions ×{n}"), name, format!("median {:.1} µs, p99 {:.1} µs", s[i].median_us, s[i].p99_us), Some(s[i].median_us / s[0].median_us));
    }

    // S2: the get_token two-step (401 UIA, then 200).
    let n = 5_000 / scale;
    let samples = interleaved(&clients, 20, n / 20, clients::Op::TokenFlow).await;
    let s: Vec<Stats> = samples.into_iter().map(stats).collect();
    for (i, name) in names.iter().enumerate() {
        row(&format!("S2 get_token flow ×{n}"), name, format!("median {:.1} µs, p99 {:.1} µs", s[i].median_us, s[i].p99_us), Some(s[i].median_us / s[0].median_us));
    }

    if args.iter().any(|a| a == "--latency") {
        return;
    }

    // S1 and S2 client CPU: each client in its own process (the stub stays
    // here), rounds alternating the clients' order, the median round.
    let addr_s = addr.to_string();
    let cpu_rounds = if quick { 2 } else { 5 };
    for (scenario, title, ops) in [("s1", "S1 client CPU, GET /versions", 20_000 / scale), ("s2", "S2 client CPU, get_token flow", 5_000 / scale)] {
        let mut wall: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
        let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
        for round in 0..cpu_rounds {
            let order: Vec<usize> = if round % 2 == 0 { (0..names.len()).collect() } else { (0..names.len()).rev().collect() };
            for i in order {
                let r = run_child(scenario, names[i], &addr_s, &[("OPS", ops.to_string())]);
                wall[i].push(r[0]);
                cpu[i].push(r[1]);
            }
        }
        let cpu: Vec<f64> = cpu.iter_mut().map(|v| cpu::median(v)).collect();
        for (i, name) in names.iter().enumerate() {
            let value = format!("{:.1} µs CPU per op (wall {:.1} µs), median of {cpu_rounds} runs of {ops}", cpu[i], cpu::median(&mut wall[i]));
            row(title, name, value, Some(cpu[i] / cpu[0]));
        }
    }

    // S3: 1,000 concurrent flows, each client in a fresh process (peak RSS),
    // first with no limit on requests in flight, then with 16 for all.
    let rounds = if quick { 1 } else { 3 };
    for limit in [None, Some(16)] {
        let env: Vec<(&str, String)> = limit.map(|l: usize| ("S3_LIMIT", l.to_string())).into_iter().collect();
        let mut s3: Vec<(f64, f64, usize, usize)> = vec![(0.0, 0.0, 0, 0); names.len()];
        let mut s3_cpu: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
        for round in 0..rounds {
            let order: Vec<usize> = if round % 2 == 0 { (0..names.len()).collect() } else { (0..names.len()).rev().collect() };
            for i in order {
                stub::take_connection_counts();
                let r = run_child("s3", names[i], &addr_s, &env);
                let (accepted, most_open) = stub::take_connection_counts();
                s3[i].0 += r[0];
                s3_cpu[i].push(r[3]);
                s3[i].1 = s3[i].1.max(r[1]);
                s3[i].2 = s3[i].2.max(accepted);
                s3[i].3 = s3[i].3.max(most_open);
            }
        }
        let rounds = rounds as f64;
        let title = match limit {
            None => "S3 1,000 concurrent flows, no limit".to_owned(),
            Some(l) => format!("S3 1,000 concurrent flows, {l} requests in flight"),
        };
        let cpu: Vec<f64> = s3_cpu.iter_mut().map(|v| cpu::median(v)).collect();
        for (i, name) in names.iter().enumerate() {
            let value = format!(
                "{:.0} flows/s, {:.1} µs CPU per flow ({:.2}× raw's), peak RSS {:.1} MiB, {} connections",
                s3[i].0 / rounds,
                cpu[i],
                cpu[i] / cpu[0],
                s3[i].1 / 1024.0,
                s3[i].2
            );
            row(&title, name, value, Some((s3[0].0 / rounds) / (s3[i].0 / rounds)));
        }
    }

    // S4: jobs held pending by a long-poll.
    let jobs = if quick { 2_000 } else { 10_000 };
    for name in &names {
        let r = run_child("s4", name, &addr_s, &[("S4_JOBS", jobs.to_string())]);
        row(&format!("S4 {jobs} pending long-polls"), name, format!("{:.2} KiB RSS per job, abandon all in {:.1} ms, {:.1} µs CPU per job (start, hold, abandon)", r[0] / 1024.0, r[1], r[2]), None);
    }

    // S5: decoding a deterministic /sync body.
    let body = sync_body::generate(if quick { 1 << 20 } else { 10 << 20 });
    let mb = body.len() as f64 / (1024.0 * 1024.0);
    let reps = if quick { 3 } else { 5 };
    let mut typed = Vec::new();
    let mut value = Vec::new();
    #[allow(unused_mut)]
    let mut ruma = Vec::<f64>::new();
    for _ in 0..reps {
        let start = Instant::now();
        let parsed: quotient_api::generated::sync::SyncResponse = serde_json::from_slice(&body).expect("typed decode");
        typed.push(start.elapsed().as_secs_f64());
        drop(parsed);
        let start = Instant::now();
        let parsed: serde_json::Value = serde_json::from_slice(&body).expect("value decode");
        value.push(start.elapsed().as_secs_f64());
        drop(parsed);
        #[cfg(feature = "matrix-sdk")]
        {
            let start = Instant::now();
            sdk::decode_sync(&body);
            ruma.push(start.elapsed().as_secs_f64());
        }
    }
    typed.sort_by(f64::total_cmp);
    value.sort_by(f64::total_cmp);
    let (t, v) = (mb / typed[reps / 2], mb / value[reps / 2]);
    row(&format!("S5 decode {mb:.1} MB /sync"), "serde_json::Value", format!("{v:.0} MB/s"), None);
    row(&format!("S5 decode {mb:.1} MB /sync"), "quotient generated types", format!("{t:.0} MB/s"), None);
    if !ruma.is_empty() {
        ruma.sort_by(f64::total_cmp);
        row(&format!("S5 decode {mb:.1} MB /sync"), "ruma sync_events::v3::Response", format!("{:.0} MB/s", mb / ruma[ruma.len() / 2]), None);
    }

    // S7: a whole account's initial sync and 100 batches into each client's store.
    if !args.iter().any(|a| a == "--no-s7") {
        s7::run(quick, &s7_names);
        #[allow(unused_mut)]
        let mut s8_names = vec!["quotient"];
        #[cfg(feature = "matrix-sdk")]
        s8_names.push("matrix-sdk-sqlite");
        s7::run_s8(quick, &s8_names);
    }
}
