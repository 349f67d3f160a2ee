//! Vendored static assets, compiled into the binary and served under
//! `GET /portal/assets/{name}`.
//!
//! Nothing is fetched from a CDN: `htmx.min.js` is the release file from the npm package
//! `htmx.org` (see `assets/README.md` for its version and licence); `portal.css` and
//! `portal.js` (copy buttons, confirmations) are ours.
//! Each asset's ETag is an FNV-1a hash of its bytes computed at compile time, so it changes
//! exactly when the file does. Responses carry `Cache-Control: public, max-age=86400`; link
//! to assets with [`versioned_url`] so a new release is fetched at once instead of a day later.

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};

/// The path prefix every asset is served under (with a trailing slash).
pub const PREFIX: &str = "/portal/assets/";

/// The `Cache-Control` value of every asset response.
pub const CACHE_CONTROL: &str = "public, max-age=86400";

/// One embedded static file.
#[derive(Debug)]
pub struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    etag: &'static str,
}

const HTMX_BODY: &[u8] = include_bytes!("../assets/htmx.min.js");
const HTMX_ETAG: [u8; 18] = quoted_hex(fnv1a64(HTMX_BODY));
const CSS_BODY: &[u8] = include_bytes!("../assets/portal.css");
const CSS_ETAG: [u8; 18] = quoted_hex(fnv1a64(CSS_BODY));
const JS_BODY: &[u8] = include_bytes!("../assets/portal.js");
const JS_ETAG: [u8; 18] = quoted_hex(fnv1a64(JS_BODY));

/// Every asset the portal serves, by name.
static ASSETS: [Asset; 3] = [
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: HTMX_BODY,
        etag: ascii(&HTMX_ETAG),
    },
    Asset {
        name: "portal.css",
        content_type: "text/css; charset=utf-8",
        body: CSS_BODY,
        etag: ascii(&CSS_ETAG),
    },
    Asset {
        name: "portal.js",
        content_type: "text/javascript; charset=utf-8",
        body: JS_BODY,
        etag: ascii(&JS_ETAG),
    },
];

/// The router serving `GET` (and `HEAD`) `/portal/assets/{name}`; merge it into the portal's
/// router. It needs no state.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/portal/assets/{name}", get(serve))
}

/// All embedded assets.
pub fn all() -> &'static [Asset] {
    &ASSETS
}

/// The asset called `name` (for example `"portal.css"`), if there is one.
pub fn lookup(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.name == name)
}

/// The URL to link to an asset with, carrying its content hash as a query parameter
/// (`/portal/assets/portal.css?v=0123456789abcdef`) so browsers fetch a changed file at once
/// despite the one-day cache. An unknown name gets the bare path (which will answer 404).
pub fn versioned_url(name: &str) -> String {
    match lookup(name) {
        Some(asset) => format!("{PREFIX}{}?v={}", asset.name, asset.version()),
        None => format!("{PREFIX}{name}"),
    }
}

async fn serve(Path(name): Path<String>, request_headers: HeaderMap) -> Response {
    let Some(asset) = lookup(&name) else {
        return (
            StatusCode::NOT_FOUND,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            "not found\n",
        )
            .into_response();
    };
    let headers = [
        (header::ETAG, HeaderValue::from_static(asset.etag)),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_CONTROL),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if if_none_match_hits(&request_headers, asset.etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (
        headers,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        )],
        asset.body,
    )
        .into_response()
}

/// Whether any `If-None-Match` header names `etag` (weak comparison, RFC 9110 §13.1.2) or is
/// `*`. Values that are not visible ASCII never match.
fn if_none_match_hits(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// 64-bit FNV-1a. Not cryptographic: it only has to change when an asset does.
const fn fnv1a64(mut bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    while let [first, rest @ ..] = bytes {
        hash ^= *first as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        bytes = rest;
    }
    hash
}

/// `hash` as 16 lowercase hex digits between double quotes: a strong entity tag.
#[expect(
    clippy::indexing_slicing,
    reason = "i < 16 indexes an 18-byte array and a nibble indexes 16 digits; evaluated at compile time, where a slip fails the build"
)]
const fn quoted_hex(hash: u64) -> [u8; 18] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        let nibble = (hash >> (60 - 4 * i)) & 0xf;
        out[i + 1] = DIGITS[nibble as usize];
        i += 1;
    }
    out
}

/// The bytes from [`quoted_hex`] as a `str`. They are always ASCII; the fallback is unreachable.
const fn ascii(bytes: &'static [u8]) -> &'static str {
    match core::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => "\"unreachable\"",
    }
}

// === impl Asset ===

impl Asset {
    /// The file name it is served under, e.g. `portal.css`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its `Content-Type`, with a charset for text.
    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// Its bytes.
    pub fn body(&self) -> &'static [u8] {
        self.body
    }

    /// Its strong ETag, double quotes included.
    pub fn etag(&self) -> &'static str {
        self.etag
    }

    /// The 16 hex digits of its content hash (the ETag without quotes).
    pub fn version(&self) -> &'static str {
        self.etag.trim_matches('"')
    }
}

#[cfg(test)]
mod tests;
