//! Choosing a backend from a database URL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{PostgresStore, SqliteStore, Store, StoreError};

/// Where a database URL points.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    /// A SQLite database in this file.
    SqliteFile(PathBuf),
    /// A fresh in-memory SQLite database (`sqlite::memory:`).
    SqliteMemory,
    /// A PostgreSQL URL, passed through unchanged.
    Postgres(&'a str),
}

/// Opens the store a database URL names:
///
/// - `sqlite:PATH`, `sqlite://PATH` or a bare filesystem path: [`SqliteStore::open`]
///   (`sqlite:///abs/path` is an absolute path; `PATH` is taken literally, without query);
/// - `sqlite::memory:`: [`SqliteStore::open_in_memory`];
/// - `postgres://…` or `postgresql://…`: [`PostgresStore::connect`].
///
/// Anything else with a URL scheme (`mysql://…`, `redis:…`) is [`StoreError::UnsupportedUrl`].
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match parse(url)? {
        Target::SqliteFile(path) => Arc::new(SqliteStore::open(&path).await?),
        Target::SqliteMemory => Arc::new(SqliteStore::open_in_memory().await?),
        Target::Postgres(url) => Arc::new(PostgresStore::connect(url).await?),
    })
}

fn parse(url: &str) -> Result<Target<'_>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url));
    }
    if url == "sqlite::memory:" {
        return Ok(Target::SqliteMemory);
    }
    let path = match url.strip_prefix("sqlite:") {
        Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
        None if has_scheme(url) => return Err(StoreError::UnsupportedUrl),
        None => url,
    };
    if path.is_empty() {
        return Err(StoreError::UnsupportedUrl);
    }
    Ok(Target::SqliteFile(Path::new(path).to_path_buf()))
}

/// Whether `s` starts with a URL scheme (`name:`), at least two characters long so that a
/// Windows drive letter (`C:\data`) still reads as a path.
fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    scheme.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(p: &str) -> Target<'static> {
        Target::SqliteFile(PathBuf::from(p))
    }

    #[test]
    fn sqlite_urls_and_bare_paths_open_sqlite_files() {
        assert_eq!(parse("sqlite:data/gh.db").unwrap(), file("data/gh.db"));
        assert_eq!(parse("sqlite://data/gh.db").unwrap(), file("data/gh.db"));
        assert_eq!(
            parse("sqlite:///var/lib/gh.db").unwrap(),
            file("/var/lib/gh.db")
        );
        assert_eq!(parse("/var/lib/gh.db").unwrap(), file("/var/lib/gh.db"));
        assert_eq!(parse("gh.db").unwrap(), file("gh.db"));
        assert_eq!(parse("./odd:name.db").unwrap(), file("./odd:name.db"));
        assert_eq!(parse(r"C:\gh\gh.db").unwrap(), file(r"C:\gh\gh.db"));
        assert_eq!(parse("sqlite::memory:").unwrap(), Target::SqliteMemory);
    }

    #[test]
    fn postgres_urls_pass_through_unchanged() {
        let url = "postgres://gh@db:5432/gh?sslmode=require";
        assert_eq!(parse(url).unwrap(), Target::Postgres(url));
        assert_eq!(
            parse("postgresql://db/gh").unwrap(),
            Target::Postgres("postgresql://db/gh")
        );
    }

    #[test]
    fn other_schemes_and_empty_paths_are_unsupported() {
        for url in [
            "mysql://db/gh",
            "redis:x",
            "https://db",
            "",
            "sqlite:",
            "sqlite://",
        ] {
            assert!(
                matches!(parse(url), Err(StoreError::UnsupportedUrl)),
                "{url}"
            );
        }
    }
}
