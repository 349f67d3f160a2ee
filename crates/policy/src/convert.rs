//! `serde_json` → `regorus::Value` without a serialisation round trip, and a size check that
//! serialises into a counter instead of a buffer.

use std::collections::BTreeMap;

use regorus::Value;

/// Converts a JSON value by reference. Numbers keep their integer form when they have one.
pub(crate) fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => json_number(n),
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => {
            Value::from(items.iter().map(json_value).collect::<Vec<_>>())
        }
        serde_json::Value::Object(map) => json_object(map),
    }
}

/// Converts a JSON object by reference.
pub(crate) fn json_object(map: &serde_json::Map<String, serde_json::Value>) -> Value {
    Value::from(
        map.iter()
            .map(|(k, v)| (Value::from(k.as_str()), json_value(v)))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn json_number(n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::from(i)
    } else if let Some(u) = n.as_u64() {
        Value::from(u)
    } else if let Some(f) = n.as_f64() {
        Value::from(f)
    } else {
        // Not reachable without serde_json's `arbitrary_precision`; keep the number's text.
        Value::from_numeric_string(&n.to_string()).unwrap_or(Value::Null)
    }
}

/// Whether `v` serialises (compact JSON) to more than `limit` bytes. Stops writing as soon as
/// the limit is passed, so an oversize document costs at most `limit` bytes of work.
pub(crate) fn serialized_len_exceeds(v: &serde_json::Value, limit: usize) -> bool {
    let mut counter = Counter { len: 0, limit };
    serde_json::to_writer(&mut counter, v).is_err()
}

/// An `io::Write` that only counts, and fails once past its limit.
struct Counter {
    len: usize,
    limit: usize,
}

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.len = self.len.saturating_add(buf.len());
        if self.len > self.limit {
            return Err(std::io::Error::other("over the limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_converts_like_regorus_own_parser() {
        let json =
            serde_json::json!({"a": [1, -2, 3.5, u64::MAX], "b": {"c": null, "d": true}, "e": "x"});
        let expected = Value::from_json_str(&json.to_string()).unwrap();
        assert_eq!(json_value(&json), expected);
    }

    #[test]
    fn size_check_counts_compact_json_bytes() {
        let json = serde_json::json!({"a": "xyz"}); // {"a":"xyz"} is 11 bytes
        assert!(!serialized_len_exceeds(&json, 11));
        assert!(serialized_len_exceeds(&json, 10));
    }
}
