use serde_json::json;

use super::*;

fn api() -> ApiInput<'static> {
    ApiInput {
        name: "orders",
        audience: "https://orders.example",
    }
}

fn bare(time_unix: Option<i64>) -> Input<'static> {
    Input {
        request: None,
        principal: None,
        api: api(),
        operation: "getOrder",
        time_unix,
    }
}

fn json_of(v: &Value) -> serde_json::Value {
    serde_json::from_str(&v.to_json_str().unwrap()).unwrap()
}

#[test]
fn time_is_given_in_seconds_nanoseconds_and_rfc3339() {
    let v = bare(Some(1_800_000_000)).to_value();
    assert_eq!(
        json_of(&v["time"]),
        json!({
            "unix": 1_800_000_000_i64,
            "unix_ns": 1_800_000_000_000_000_000_i64,
            "rfc3339": "2027-01-15T08:00:00Z",
        })
    );
}

#[test]
fn absent_time_request_and_principal_are_absent_keys() {
    let v = bare(None).to_value();
    assert_eq!(
        json_of(&v),
        json!({"api": {"name": "orders", "audience": "https://orders.example"}, "operation": "getOrder"})
    );
}

#[test]
fn time_outside_rfc3339_years_keeps_the_numbers() {
    let v = bare(Some(i64::MAX)).to_value();
    assert_eq!(v["time"]["unix"], Value::from(i64::MAX));
    assert_eq!(v["time"]["rfc3339"], Value::Undefined);
}

#[test]
fn query_string_is_percent_decoded_and_first_value_wins() {
    let params = vec![("id".to_owned(), "42".to_owned())];
    let input = Input {
        request: Some(RequestInput {
            method: "GET",
            path: "/orders/42",
            params: &params,
            query: Some("a=1&b=x%20y&c=p+q&a=2&flag"),
            headers: vec![("x-request-id", "r1")],
        }),
        ..bare(None)
    };
    let v = input.to_value();
    assert_eq!(
        json_of(&v["request"]),
        json!({
            "method": "GET",
            "path": "/orders/42",
            "params": {"id": "42"},
            "query": {"a": "1", "b": "x y", "c": "p q", "flag": ""},
            "headers": {"x-request-id": "r1"},
        })
    );
}

#[test]
fn request_without_query_string_has_no_query_key() {
    let input = Input {
        request: Some(RequestInput {
            method: "GET",
            path: "/",
            params: &[],
            query: None,
            headers: vec![],
        }),
        ..bare(None)
    };
    let v = input.to_value();
    assert_eq!(v["request"]["query"], Value::Undefined);
    assert_eq!(v["request"]["params"], Value::new_object());
}

#[test]
fn principal_carries_claims_subscription_certificate_and_metadata() {
    let claims = json!({"sub": "u1", "roles": ["admin"], "n": 3, "nested": {"a": null}});
    let serde_json::Value::Object(claims) = claims else {
        unreachable!()
    };
    let metadata = serde_json::json!({"team": "pay"})
        .as_object()
        .cloned()
        .unwrap();
    let input = Input {
        principal: Some(PrincipalInput {
            client_id: "c1",
            application: "shop",
            subject: "u1",
            credential: "mtls",
            scopes: vec!["a", "b"],
            claims: Some(&claims),
            subscription: Some(SubscriptionInput {
                status: "active",
                scopes: vec!["a"],
                plan: None,
            }),
            certificate: Some(CertificateInput {
                subject: "CN=shop",
                spiffe_id: Some("spiffe://td/app/c1"),
                dns: vec!["shop.internal"],
                uris: vec!["spiffe://td/app/c1"],
                serial: "0a",
                sha256: "ff",
            }),
            metadata: Some(&metadata),
        }),
        ..bare(None)
    };
    assert_eq!(
        json_of(&input.to_value()["principal"]),
        json!({
            "client_id": "c1",
            "application": "shop",
            "subject": "u1",
            "credential": "mtls",
            "scopes": ["a", "b"],
            "claims": {"sub": "u1", "roles": ["admin"], "n": 3, "nested": {"a": null}},
            "subscription": {"status": "active", "scopes": ["a"]},
            "certificate": {
                "subject": "CN=shop",
                "spiffe_id": "spiffe://td/app/c1",
                "dns": ["shop.internal"],
                "uris": ["spiffe://td/app/c1"],
                "serial": "0a",
                "sha256": "ff",
            },
            "metadata": {"team": "pay"},
        })
    );
}

#[test]
fn repeated_header_name_keeps_the_first_value() {
    let input = Input {
        request: Some(RequestInput {
            method: "GET",
            path: "/",
            params: &[],
            query: None,
            headers: vec![("x-a", "1"), ("x-a", "2")],
        }),
        ..bare(None)
    };
    assert_eq!(
        input.to_value()["request"]["headers"]["x-a"],
        Value::from("1")
    );
}
