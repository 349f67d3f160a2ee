//! Identifier newtypes. Every id is 1–64 characters from `[A-Za-z0-9_-]`.

use serde::{Deserialize, Serialize};

/// An identifier that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The identifier was empty.
    #[error("{kind} must not be empty")]
    Empty {
        /// Which kind of identifier.
        kind: &'static str,
    },
    /// The identifier was longer than 64 characters.
    #[error("{kind} is longer than 64 characters")]
    TooLong {
        /// Which kind of identifier.
        kind: &'static str,
    },
    /// The identifier held a character outside `[A-Za-z0-9_-]`.
    #[error("{kind} may contain only A-Z, a-z, 0-9, '_' and '-'")]
    BadChar {
        /// Which kind of identifier.
        kind: &'static str,
    },
}

fn check(kind: &'static str, s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > 64 {
        return Err(IdError::TooLong { kind });
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(IdError::BadChar { kind });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses an identifier.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                check($kind, s)?;
                Ok(Self(s.to_owned()))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                check($kind, &s)?;
                Ok(Self(s))
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::openapi::string(
                    concat!("A ", $kind, ": 1-64 characters from A-Z, a-z, 0-9, '_' and '-'."),
                    Some("^[A-Za-z0-9_-]{1,64}$"),
                    64,
                )
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

id_type!(
    /// An application's id, which is also its OAuth `client_id`.
    ClientId, "client id"
);
id_type!(
    /// An API's (resource server's) id.
    ApiId, "api id"
);
id_type!(
    /// A signing key's id (`kid`).
    Kid, "key id"
);
id_type!(
    /// A stored client secret's id (not the secret).
    SecretId, "secret id"
);
id_type!(
    /// An API key's id (not the key).
    ApiKeyId, "api key id"
);
id_type!(
    /// A subscription's id.
    SubscriptionId, "subscription id"
);
id_type!(
    /// A policy attachment's id (stable across its versions).
    PolicyId, "policy id"
);
id_type!(
    /// A portal user's id.
    UserId, "user id"
);
id_type!(
    /// A plan's id.
    PlanId, "plan id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_url_safe_characters_only() {
        assert!(ClientId::parse("app_1-X").is_ok());
        assert_eq!(
            ClientId::parse(""),
            Err(IdError::Empty { kind: "client id" })
        );
        assert!(matches!(
            ClientId::parse("a b"),
            Err(IdError::BadChar { .. })
        ));
        assert!(matches!(ClientId::parse("é"), Err(IdError::BadChar { .. })));
        assert!(matches!(
            ClientId::parse(&"a".repeat(65)),
            Err(IdError::TooLong { .. })
        ));
    }

    #[test]
    fn ids_round_trip_through_json() {
        let id = ApiId::parse("api_123").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ApiId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ApiId>("\"bad id\"").is_err());
    }
}
