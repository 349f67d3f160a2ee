//! RFC 9457 `application/problem+json` answers, one builder for every HTTP surface that is
//! not an OAuth endpoint (those answer in RFC 6749's own format).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A problem response: `type` `about:blank`, `title` the status's reason phrase, the given
/// `detail`, and `request_id` (for server errors, so an operator can find the log line).
pub fn problem(status: StatusCode, detail: Option<&str>, request_id: Option<&str>) -> Response {
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
    });
    if let Some(obj) = body.as_object_mut() {
        if let Some(d) = detail {
            obj.insert("detail".into(), d.into());
        }
        if let Some(id) = request_id {
            obj.insert("request_id".into(), id.into());
        }
    }
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}
