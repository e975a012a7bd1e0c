//! Hand-written endpoint rules checked against the spec, so that the
//! spec and the rule cannot drift apart unnoticed.

use std::collections::BTreeSet;

use quotient_api::OPERATIONS;

/// The operations whose answers the spec says may be a redirect (a 3xx
/// response), by operationId.
fn redirecting_in_spec() -> Option<BTreeSet<String>> {
    let dir = xtask::default_spec_dir();
    if !dir.join("data/api/client-server").is_dir() {
        assert!(
            std::env::var("QUOTIENT_REQUIRE_SPEC").as_deref() != Ok("1"),
            "the Matrix spec is not at {}",
            dir.display()
        );
        eprintln!("SKIPPED: the Matrix spec is not at {}", dir.display());
        return None;
    }
    let (_, model) = xtask::model(&dir).expect("the generator models the spec");
    let mut spec = xtask::spec::Spec::new(dir.join("data"));
    let mut out = BTreeSet::new();
    for file in spec.api_files().unwrap() {
        let root = spec.file(&file).unwrap().clone();
        for (_, methods) in root
            .get("paths")
            .map(|p| p.entries().to_vec())
            .unwrap_or_default()
        {
            for (_, op) in methods.entries() {
                let Some(id) = op.str("operationId") else {
                    continue;
                };
                let responses = op
                    .get("responses")
                    .map(|r| r.entries().to_vec())
                    .unwrap_or_default();
                if responses.iter().any(|(code, _)| code.starts_with('3')) {
                    out.insert(id.to_owned());
                }
            }
        }
    }
    assert!(!model.modules.is_empty());
    Some(out)
}

/// `Metadata::follows_redirects` (a path table in quotient-api) says yes
/// exactly for the operations the spec gives a 3xx answer, plus the
/// client `.well-known`, whose redirects HTTP and later spec releases
/// allow, minus the SSO redirects: their 302 is meant for the browser the
/// user signs in with, not for the client to follow.
#[test]
fn redirects_are_followed_exactly_where_the_spec_has_them() {
    let Some(spec) = redirecting_in_spec() else {
        return;
    };
    assert!(spec.len() >= 5, "{spec:?}");
    let ours: BTreeSet<String> = OPERATIONS
        .iter()
        .filter(|m| m.follows_redirects())
        .map(|m| m.operation_id.to_owned())
        .collect();
    let mut expected = spec.clone();
    expected.insert("getWellknown".to_owned());
    for browser_only in ["redirectToSSO", "redirectToIdP"] {
        assert!(
            expected.remove(browser_only),
            "{browser_only} has a 3xx in the spec"
        );
    }
    assert_eq!(ours, expected);
}
