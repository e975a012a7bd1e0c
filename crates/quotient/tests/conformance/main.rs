//! A conformance run against Synapse: every operation Synapse implements
//! for a normal user is called through its generated request type and the
//! engine, and every answer is decoded into the generated response and
//! compared with the raw body key by key (see `check.rs`).
//!
//! docs/conformance.md lists all operations with their status; the tests
//! here check that it lists each exactly once and that it agrees with what
//! the run called, so the document cannot rot.
//!
//! Run with `cargo test -p quotient --test conformance` (one process: the
//! scenarios share one server).

// Deprecated operations are part of the API, and Synapse still serves them.
#![allow(deprecated)]

#[path = "../synapse/homeserver.rs"]
mod homeserver;
#[path = "../synapse/png.rs"]
mod png;

mod account;
mod appservice;
mod check;
mod devices;
mod directory;
mod doc;
mod fixture;
mod keys;
mod media;
mod messages;
mod previews;
mod profile;
mod push;
mod rooms;
mod sync;
mod tables;
mod unimplemented;

use std::time::{Duration, Instant};

/// A scenario that takes longer than this has hung; the whole suite is
/// meant to finish in well under three minutes.
const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

macro_rules! scenarios {
    ($($path:path),* $(,)?) => {
        vec![$((stringify!($path), tokio::spawn($path()))),*]
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_synapse_implements_decodes_into_its_generated_type() {
    let started = Instant::now();
    tokio::task::spawn_blocking(fixture::server).await.unwrap();
    let running = scenarios![
        account::discovery,
        account::login_refresh_logout,
        account::registration,
        account::password_and_deactivation,
        account::identity,
        rooms::lifecycle,
        rooms::moderation,
        rooms::knocking,
        rooms::upgrade_and_forget,
        messages::timeline,
        messages::relations_and_threads,
        messages::state,
        messages::receipts_and_markers,
        sync::sync_and_filters,
        sync::legacy_streams,
        profile::profile_and_presence,
        profile::account_data_and_tags,
        devices::devices,
        devices::to_device,
        keys::device_keys,
        keys::cross_signing,
        keys::backup,
        push::rules,
        push::pushers_and_notifications,
        media::upload_and_download,
        previews::url_previews,
        directory::aliases_and_visibility,
        directory::public_rooms_and_search,
        directory::summaries_and_hierarchy,
        appservice::third_party,
        appservice::bridge,
        unimplemented::admin_endpoints,
        unimplemented::oauth_metadata,
        unimplemented::well_known_files,
        unimplemented::sso_redirects,
    ];
    let mut failures = Vec::new();
    for (name, handle) in running {
        match tokio::time::timeout(SCENARIO_LIMIT, handle).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.is_panic() => {
                let payload = e.into_panic();
                let text = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failures.push(format!("scenario {name} failed: {text}"));
            }
            Ok(Err(e)) => failures.push(format!("scenario {name}: {e}")),
            Err(_) => failures.push(format!("scenario {name} took over {SCENARIO_LIMIT:?}")),
        }
    }
    let summary = check::summary();
    failures.extend(summary.findings.iter().cloned());
    for entry in &summary.unused_bugs {
        failures.push(format!(
            "KNOWN_GENERATOR_BUGS entry {entry} matched nothing this run: the bug is fixed, remove the entry (and its finding in docs/conformance.md)"
        ));
    }
    for entry in &summary.unused_outside {
        failures.push(format!(
            "OUTSIDE_THE_SCHEMA entry {entry} matched nothing this run: remove it"
        ));
    }
    failures.extend(doc::compare_with_run(&summary.passed, &summary.refused));
    eprintln!(
        "conformance: {} operations passed, {} proved refused, in {:.1?}",
        summary.passed.len(),
        summary.refused.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
