//! `GET /_matrix/client/versions`, interpreted.

use std::collections::BTreeMap;

/// The spec versions and unstable features a server advertises.
///
/// ```
/// use quotient::server::ServerVersions;
/// let v = ServerVersions::new(vec!["r0.6.1".into(), "v1.6".into(), "v1.11".into()], Default::default());
/// assert!(v.supports("v1.7"));  // v1.11 is later than v1.7
/// assert!(!v.supports("v1.12"));
/// assert!(!v.unstable_feature("org.matrix.msc3882"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerVersions {
    versions: Vec<String>,
    unstable_features: BTreeMap<String, bool>,
}

/// `v1.7` → (1, 7); `r0.6.1` → (0, 6). Other strings are not versions.
fn parse(version: &str) -> Option<(u32, u32)> {
    let (major, rest) = match version.as_bytes().first()? {
        b'v' => {
            let (major, minor) = version[1..].split_once('.')?;
            (major.parse().ok()?, minor)
        }
        b'r' => (0, version[1..].split_once('.')?.1),
        _ => return None,
    };
    let minor = rest.split('.').next()?.parse().ok()?;
    Some((major, minor))
}

impl ServerVersions {
    /// Wraps what `/versions` returned.
    pub fn new(versions: Vec<String>, unstable_features: BTreeMap<String, bool>) -> Self {
        Self {
            versions,
            unstable_features,
        }
    }

    /// The advertised versions, as sent.
    pub fn versions(&self) -> &[String] {
        &self.versions
    }

    /// Whether the server supports spec `version` (`"v1.7"`): it lists it
    /// or a later `v1.x` release. Releases within v1 keep what earlier ones
    /// offer unless the spec removes it.
    pub fn supports(&self, version: &str) -> bool {
        let Some(wanted) = parse(version) else {
            return self.versions.iter().any(|v| v == version);
        };
        self.versions
            .iter()
            .filter_map(|v| parse(v))
            .any(|have| have.0 == wanted.0 && have.1 >= wanted.1)
    }

    /// Whether `unstable_features` has `name` set to `true`.
    pub fn unstable_feature(&self, name: &str) -> bool {
        self.unstable_features.get(name).copied().unwrap_or(false)
    }

    /// All unstable features and their flags.
    pub fn unstable_features(&self) -> &BTreeMap<String, bool> {
        &self.unstable_features
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comparison() {
        let v = ServerVersions::new(vec!["r0.5.0".into(), "v1.6".into()], BTreeMap::new());
        assert!(v.supports("v1.6") && v.supports("v1.1") && !v.supports("v1.7"));
        assert!(!v.supports("v2.0"));
        assert!(v.supports("r0.5.0"));
        let none = ServerVersions::new(vec!["garbage".into()], BTreeMap::new());
        assert!(!none.supports("v1.0"));
        assert_eq!(parse("v1.10"), Some((1, 10)));
        assert_eq!(parse("r0.6.1"), Some((0, 6)));
        assert_eq!(parse("vx.1"), None);
    }
}
