//! Paths servers still use that the spec release does not list.
//!
//! A runtime picks one of these when `/versions` shows the server predates
//! the stable endpoint but advertises the unstable feature.

/// An unstable variant of a spec operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnstablePath {
    /// The spec operation this stands in for.
    pub operation_id: &'static str,
    /// The `unstable_features` flag in `/versions` that announces it.
    pub feature: &'static str,
    /// The full path.
    pub path: &'static str,
    /// The stable spec version that replaced it.
    pub stable_since: &'static str,
}

/// MSC3882's login-token endpoint, before it became
/// `POST /_matrix/client/v1/login/get_token` in spec v1.7.
pub const MSC3882_GET_TOKEN: UnstablePath = UnstablePath {
    operation_id: "generateLoginToken",
    feature: "org.matrix.msc3882",
    path: "/_matrix/client/unstable/org.matrix.msc3882/login/get_token",
    stable_since: "1.7",
};

/// An earlier revision of MSC3882 used `…/login/token`.
pub const MSC3882_TOKEN_OLD: UnstablePath = UnstablePath {
    operation_id: "generateLoginToken",
    feature: "org.matrix.msc3882",
    path: "/_matrix/client/unstable/org.matrix.msc3882/login/token",
    stable_since: "1.7",
};

/// Known unstable paths, newest revision first per operation.
pub static UNSTABLE_PATHS: &[UnstablePath] = &[MSC3882_GET_TOKEN, MSC3882_TOKEN_OLD];

/// The unstable paths for an operation, newest first.
pub fn unstable_paths(operation_id: &str) -> impl Iterator<Item = &'static UnstablePath> + '_ {
    UNSTABLE_PATHS
        .iter()
        .filter(move |p| p.operation_id == operation_id)
}
