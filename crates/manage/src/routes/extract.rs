//! Extractors whose rejections are the admin API's 400 problems, never axum's plain-text
//! ones: JSON bodies (which must be objects), optional bodies, query strings, path segments.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;

use super::Result;
use crate::ManageError;

/// JSON bodies: a malformed one, or one that is not a JSON object, is a 400 problem, not
/// axum's plain-text rejection (nor, for an array, serde's reading of it as the members in
/// order).
pub(crate) struct Body<T>(pub(crate) T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ManageError;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        json_object(req, state, false).await.map(Body)
    }
}

/// A JSON body whose members are all optional: an empty body (a bare `POST`) or `null` means
/// defaults.
pub(crate) struct OptionalBody<T>(pub(crate) T);

impl<T, S> FromRequest<S> for OptionalBody<T>
where
    T: serde::de::DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ManageError;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .map_err(|_| ManageError::Invalid("request body too large or unreadable".into()))?;
        if bytes.is_empty() {
            return Ok(OptionalBody(T::default()));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let v: Option<T> = json_object(req, state, true).await?;
        Ok(OptionalBody(v.unwrap_or_default()))
    }
}

/// The request's JSON body as `T`, which must be sent as an object (or `null` when
/// `null_ok`).
async fn json_object<T, S>(req: Request, state: &S, null_ok: bool) -> Result<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    let Json(value) = <Json<serde_json::Value> as FromRequest<S>>::from_request(req, state)
        .await
        .map_err(|e| ManageError::Invalid(e.body_text()))?;
    if !(value.is_object() || null_ok && value.is_null()) {
        return Err(ManageError::Invalid(
            "the request body must be a JSON object".into(),
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        ManageError::Invalid(format!(
            "Failed to deserialize the JSON body into the target type: {e}"
        ))
    })
}

/// Query parameters: a malformed or unknown one is a 400 problem, not axum's plain-text
/// rejection.
pub(crate) struct Params<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ManageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(e) => Err(ManageError::Invalid(e.body_text())),
        }
    }
}

/// Path parameters: one that does not decode (say, invalid UTF-8) is a 400 problem.
pub(crate) struct Id<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Id<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ManageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Id(v)),
            Err(e) => Err(ManageError::Invalid(e.body_text())),
        }
    }
}
