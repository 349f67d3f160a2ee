//! Foundation of the Gatehouse developer portal: a server-rendered site built with askama
//! templates and htmx.
//!
//! What lives here:
//!
//! - [`assets`]: the vendored static files (`htmx.min.js`, `portal.css`) compiled into the
//!   binary and served under `/portal/assets/{name}` with strong ETags.
//! - [`chart`]: pure functions turning usage series into accessible inline SVG charts and
//!   equivalent HTML tables.
//! - [`layout`]: the data every page hands to `templates/base.html` (signed-in user, flash
//!   messages) and the sign-in page as the first template built on it.
//! - [`security_headers`]: the headers every HTML page carries, including the strict
//!   [`CONTENT_SECURITY_POLICY`].
//!
//! What it must never do:
//!
//! - load anything from another origin (no CDN, no web fonts, no external URLs): everything the
//!   browser needs comes from `/portal/assets/`;
//! - emit inline `<script>`, inline `<style>` or `style="…"` attributes: the CSP forbids them,
//!   so markup uses classes from `portal.css` and SVG presentation attributes instead. htmx is
//!   configured in `base.html` (`<meta name="htmx-config">`) not to inject its indicator
//!   `<style>`, not to `eval`, and not to copy pages into `localStorage`;
//! - write a value into HTML without escaping it: templates rely on askama's escaping, and the
//!   chart code escapes every name and label itself and returns [`chart::Markup`], the only
//!   string type templates print unescaped.
//!
//! ```text
//!  request ──► page handler ──► askama template (extends base.html) ──► HTML
//!                   │                  ▲
//!                   │                  └── chart::Markup (SVG / <table>)
//!                   └── security_headers(&mut headers)
//!  /portal/assets/{name} ──► assets::router() ──► embedded bytes + ETag / 304
//! ```
#![forbid(unsafe_code)]

use http::HeaderMap;
use http::header::{self, HeaderValue};

pub mod assets;
pub mod chart;
pub mod layout;
mod pages;

pub use pages::router;

/// The Content-Security-Policy of every portal page.
///
/// Scripts and styles come only from the portal's own origin (`/portal/assets/`); inline
/// scripts, inline styles and `style` attributes are refused. Images may also be `data:` URLs.
/// Forms may only post back to the portal, and no other site may frame it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'";

/// Sets the security headers every HTML page of the portal carries, replacing any value
/// already present.
///
/// `Content-Security-Policy` ([`CONTENT_SECURITY_POLICY`]), `X-Content-Type-Options: nosniff`,
/// `Referrer-Policy: same-origin`, `X-Frame-Options: DENY` and `Cache-Control: no-store`
/// (pages can show secrets and per-user data, so no cache may keep them). Static assets use
/// their own caching headers instead; see [`assets`].
pub fn security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_headers_replace_existing_values() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
        headers.append(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=60"),
        );
        security_headers(&mut headers);
        let cache: Vec<_> = headers.get_all(header::CACHE_CONTROL).iter().collect();
        assert_eq!(cache, ["no-store"]);
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    }

    #[test]
    fn csp_forbids_inline_code_and_foreign_origins() {
        for directive in CONTENT_SECURITY_POLICY.split(';').map(str::trim) {
            assert!(!directive.contains("unsafe-inline"), "{directive}");
            assert!(!directive.contains("unsafe-eval"), "{directive}");
            assert!(!directive.contains("http"), "{directive}");
            assert!(!directive.contains('*'), "{directive}");
        }
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none';"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }
}
