//! Following the redirects the spec allows, and only those.
//!
//! The HTTP client follows nothing by itself: a redirect could carry the
//! access token to another host or turn a POST into a GET. For the few
//! GETs whose answer may be a redirect
//! ([`Metadata::follows_redirects`](quotient_api::Metadata::follows_redirects):
//! media downloads and thumbnails, `.well-known/matrix/client`), the
//! transport follows at most [`MAX_REDIRECTS`] hops, each checked here:
//! https only (plain http only to this machine), and the token only to the
//! origin the request was made to.

use reqwest::header::{HeaderMap, LOCATION};
use url::Url;

use crate::connection::is_loopback;

/// Redirects followed in one attempt; the next one fails it, which stops
/// loops.
pub(crate) const MAX_REDIRECTS: u32 = 5;

/// Why a redirect was not followed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedirectRefused {
    /// More hops than [`MAX_REDIRECTS`].
    #[error("the server redirected more than {MAX_REDIRECTS} times")]
    TooMany,
    /// No `Location`, or one that is not a URL.
    #[error("the server redirected without a usable Location")]
    NoLocation,
    /// Plain http to a host that is not this machine. Only the host is
    /// named: the rest of a redirect URL may be a signed, secret link.
    #[error("refusing a redirect to plain http:// on {host}: use https://")]
    Insecure {
        /// The host the redirect pointed at.
        host: String,
    },
    /// A scheme that is not http(s).
    #[error("refusing a redirect to a `{scheme}:` URL")]
    Scheme {
        /// The redirect's scheme.
        scheme: String,
    },
}

/// The statuses that redirect (RFC 9110 §15.4). 300 and 304 do not.
pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Where the redirect answer `headers` (to a request for `from`) leads,
/// when `followed` redirects were followed before it in this attempt.
pub(crate) fn next_hop(
    from: &Url,
    headers: &HeaderMap,
    followed: u32,
) -> Result<Url, RedirectRefused> {
    if followed >= MAX_REDIRECTS {
        return Err(RedirectRefused::TooMany);
    }
    let location = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(RedirectRefused::NoLocation)?;
    // Relative references resolve against the URL that answered.
    let mut next = from
        .join(location)
        .map_err(|_| RedirectRefused::NoLocation)?;
    next.set_fragment(None);
    match next.scheme() {
        "https" => {}
        "http" if is_loopback(&next) => {}
        "http" => {
            return Err(RedirectRefused::Insecure {
                host: next.host_str().unwrap_or("?").to_owned(),
            })
        }
        other => {
            return Err(RedirectRefused::Scheme {
                scheme: other.to_owned(),
            })
        }
    }
    Ok(next)
}

/// Whether the access token may go to `to` for a request first made to
/// `origin`: only to the same scheme, host and port.
pub(crate) fn keeps_token(origin: &Url, to: &Url) -> bool {
    // `Url::origin` would allocate both hosts; every request asks this.
    std::ptr::eq(origin, to)
        || (matches!(origin.scheme(), "http" | "https")
            && origin.scheme() == to.scheme()
            && origin.host() == to.host()
            && origin.port_or_known_default() == to.port_or_known_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn hops_resolve_and_are_checked() {
        let from: Url = "https://hs.example/_matrix/media/v3/download/a/b"
            .parse()
            .unwrap();
        let hop = |l: &str| next_hop(&from, &location(l), 0);
        assert_eq!(
            hop("https://cdn.example/x#frag").unwrap().as_str(),
            "https://cdn.example/x"
        );
        assert_eq!(
            hop("/elsewhere?x=1").unwrap().as_str(),
            "https://hs.example/elsewhere?x=1"
        );
        assert!(hop("http://127.0.0.1:8080/x").is_ok());
        assert!(matches!(
            hop("http://cdn.example/x"),
            Err(RedirectRefused::Insecure { host }) if host == "cdn.example"
        ));
        assert!(matches!(
            hop("ftp://cdn.example/x"),
            Err(RedirectRefused::Scheme { .. })
        ));
        assert!(matches!(
            next_hop(&from, &HeaderMap::new(), 0),
            Err(RedirectRefused::NoLocation)
        ));
        assert!(matches!(
            next_hop(&from, &location("https://cdn.example/"), MAX_REDIRECTS),
            Err(RedirectRefused::TooMany)
        ));
    }

    #[test]
    fn the_token_stays_with_its_origin() {
        let origin: Url = "https://hs.example/a".parse().unwrap();
        assert!(keeps_token(
            &origin,
            &"https://hs.example/b".parse().unwrap()
        ));
        for other in [
            "https://cdn.example/a",
            "https://hs.example:8448/a",
            "http://hs.example/a",
        ] {
            assert!(!keeps_token(&origin, &other.parse().unwrap()), "{other}");
        }
        assert!(!is_redirect(304) && !is_redirect(300) && is_redirect(307));
        // The same answers as comparing `Url::origin`s.
        let urls = [
            "https://hs.example/a",
            "https://HS.example:443/b",
            "https://hs.example:8448/a",
            "http://hs.example/a",
            "http://hs.example:80/x",
            "https://[::1]/a",
            "https://[0:0::1]:443/a",
            "https://127.0.0.1/a",
            "https://xn--mnchen-3ya.example/a",
            "https://münchen.example/b",
        ];
        for a in urls {
            for b in urls {
                let (a, b): (Url, Url) = (a.parse().unwrap(), b.parse().unwrap());
                assert_eq!(keeps_token(&a, &b), a.origin() == b.origin(), "{a} {b}");
            }
        }
    }
}
