//! OpenAPI schemas of the parsed newtypes (feature `openapi`): each says on the wire what its
//! parser accepts, so a generated document rejects what the server would reject.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// A string schema with a pattern and length bounds.
pub(crate) fn string(description: &str, pattern: Option<&str>, max_length: usize) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(pattern)
        .min_length(Some(1))
        .max_length(Some(max_length))
        .into()
}
