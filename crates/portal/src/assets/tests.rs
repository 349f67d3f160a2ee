use super::*;
use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get_asset(uri: &str, if_none_match: Option<&str>) -> Response {
    let mut request = Request::get(uri);
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    router::<()>()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body_bytes(response: Response) -> Vec<u8> {
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[test]
fn fnv1a64_matches_the_reference_vectors() {
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn etags_are_quoted_hex_of_the_content_hash() {
    for asset in all() {
        let etag = asset.etag();
        assert_eq!(etag.len(), 18, "{etag}");
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(
            u64::from_str_radix(asset.version(), 16).unwrap(),
            fnv1a64(asset.body()),
        );
    }
    assert_ne!(
        lookup("htmx.min.js").unwrap().etag(),
        lookup("portal.css").unwrap().etag()
    );
}

#[test]
fn vendored_htmx_is_the_real_release() {
    let htmx = std::str::from_utf8(lookup("htmx.min.js").unwrap().body()).unwrap();
    assert!(htmx.starts_with("var htmx=function(){"));
    assert!(htmx.contains("includeIndicatorStyles"));
    assert!(htmx.len() > 40_000);
}

#[test]
fn stylesheet_loads_nothing_from_elsewhere() {
    let css = std::str::from_utf8(lookup("portal.css").unwrap().body()).unwrap();
    assert!(!css.contains("url("), "no fonts or images by URL");
    assert!(!css.contains("@import"));
    assert!(
        css.contains(".htmx-indicator"),
        "htmx's indicator styles live here"
    );
    assert!(css.contains(".visually-hidden"));
}

#[test]
fn versioned_url_carries_the_content_hash() {
    let css = lookup("portal.css").unwrap();
    assert_eq!(
        versioned_url("portal.css"),
        format!("/portal/assets/portal.css?v={}", css.version())
    );
    assert_eq!(versioned_url("nope.js"), "/portal/assets/nope.js");
}

#[tokio::test]
async fn serves_each_asset_with_type_cache_and_etag() {
    for asset in all() {
        let response = get_asset(&versioned_url(asset.name()), None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], asset.content_type());
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=86400");
        assert_eq!(headers[header::ETAG], asset.etag());
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(body_bytes(response).await, asset.body());
    }
    let css = get_asset("/portal/assets/portal.css", None).await;
    assert_eq!(
        css.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
    let js = get_asset("/portal/assets/htmx.min.js", None).await;
    assert_eq!(
        js.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
}

#[tokio::test]
async fn matching_if_none_match_answers_304_without_body() {
    let etag = lookup("portal.css").unwrap().etag();
    for tag in [
        etag.to_owned(),
        format!("W/{etag}"),
        format!("\"x\", {etag}"),
        "*".into(),
    ] {
        let response = get_asset("/portal/assets/portal.css", Some(&tag)).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{tag}");
        assert_eq!(response.headers()[header::ETAG], etag);
        assert_eq!(response.headers()[header::CACHE_CONTROL], CACHE_CONTROL);
        assert!(body_bytes(response).await.is_empty());
    }
}

#[tokio::test]
async fn stale_if_none_match_gets_the_full_asset() {
    let htmx_etag = lookup("htmx.min.js").unwrap().etag();
    for tag in ["\"0000000000000000\"", htmx_etag, "garbage"] {
        let response = get_asset("/portal/assets/portal.css", Some(tag)).await;
        assert_eq!(response.status(), StatusCode::OK, "{tag}");
    }
}

#[tokio::test]
async fn unknown_names_are_404() {
    for uri in [
        "/portal/assets/nope.js",
        "/portal/assets/..%2Fsrc%2Flib.rs",
        "/portal/assets/PORTAL.CSS",
        "/portal/assets/",
        "/portal/assets/portal.css/x",
    ] {
        let response = get_asset(uri, None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn head_answers_headers_only() {
    let request = Request::head("/portal/assets/htmx.min.js")
        .body(Body::empty())
        .unwrap();
    let response = router::<()>().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_bytes(response).await.is_empty());
}
