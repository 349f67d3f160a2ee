use serde_json::json;

use super::*;
use crate::input::{ApiInput, Input, PrincipalInput, RequestInput};

const TENANT_POLICY: &str = r#"
package gatehouse.orders

default allow := false

allow if {
    input.request.method == "GET"
    input.principal.claims.tenant == input.request.params.tenant
}
"#;

const DECISION_POLICY: &str = r#"
package gatehouse.orders

decision := {"allow": true, "headers": {"x-tenant": input.principal.claims.tenant}} if {
    input.principal.claims.tenant == "acme"
}

decision := {"allow": false, "reason": "wrong tenant", "status": 404} if {
    input.principal.claims.tenant != "acme"
}
"#;

fn compile(module: &str) -> Policy {
    Policy::compile(module, None).unwrap()
}

fn eval_json(policy: &Policy, input: serde_json::Value) -> Result<Verdict, EvalError> {
    policy.evaluate(Value::from(input))
}

/// A bearer caller of tenant `tenant` asking `method /tenants/{tenant_param}/orders`.
fn request_input(
    claims: &serde_json::Map<String, serde_json::Value>,
    method: &'static str,
    tenant_param: &str,
) -> Value {
    let params = vec![("tenant".to_owned(), tenant_param.to_owned())];
    Input {
        request: Some(RequestInput {
            method,
            path: "/tenants/x/orders",
            params: &params,
            query: None,
            headers: vec![],
        }),
        principal: Some(PrincipalInput {
            client_id: "c1",
            application: "shop",
            subject: "c1",
            credential: "bearer",
            scopes: vec!["orders:read"],
            claims: Some(claims),
            subscription: None,
            certificate: None,
            metadata: None,
        }),
        api: ApiInput {
            name: "orders",
            audience: "https://orders",
        },
        operation: "listOrders",
        time_unix: None,
    }
    .to_value()
}

fn claims(tenant: &str) -> serde_json::Map<String, serde_json::Value> {
    let serde_json::Value::Object(map) = json!({"sub": "c1", "tenant": tenant}) else {
        unreachable!()
    };
    map
}

#[test]
fn policy_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
}

#[test]
fn package_is_reported_without_data_prefix() {
    assert_eq!(compile(TENANT_POLICY).package(), "gatehouse.orders");
}

#[test]
fn tenant_claim_matching_path_param_is_allowed() {
    let policy = compile(TENANT_POLICY);
    let verdict = policy
        .evaluate(request_input(&claims("acme"), "GET", "acme"))
        .unwrap();
    assert_eq!(
        verdict,
        Verdict {
            allow: true,
            ..Verdict::default()
        }
    );
}

#[test]
fn tenant_claim_not_matching_path_param_is_denied() {
    let policy = compile(TENANT_POLICY);
    let verdict = policy
        .evaluate(request_input(&claims("acme"), "GET", "globex"))
        .unwrap();
    assert!(!verdict.allow);
    assert_eq!(verdict.reason, None);
}

#[test]
fn wrong_method_is_denied() {
    let policy = compile(TENANT_POLICY);
    let verdict = policy
        .evaluate(request_input(&claims("acme"), "DELETE", "acme"))
        .unwrap();
    assert!(!verdict.allow);
}

#[test]
fn undefined_allow_denies() {
    let policy = compile("package gatehouse.t\nallow if input.x == 1\n");
    assert!(!eval_json(&policy, json!({})).unwrap().allow);
    assert!(eval_json(&policy, json!({"x": 1})).unwrap().allow);
}

#[test]
fn undefined_decision_denies() {
    let policy = compile(
        r#"package gatehouse.t
decision := {"allow": true} if input.x == 1
"#,
    );
    assert_eq!(eval_json(&policy, json!({})).unwrap(), Verdict::default());
}

#[test]
fn non_boolean_allow_is_a_bad_decision() {
    let policy = compile("package gatehouse.t\nallow := \"yes\"\n");
    assert!(matches!(
        eval_json(&policy, json!({})),
        Err(EvalError::BadDecision(m)) if m.contains("not a boolean")
    ));
}

#[test]
fn decision_reason_status_and_headers_are_honoured() {
    let policy = compile(DECISION_POLICY);
    let allowed = policy
        .evaluate(request_input(&claims("acme"), "GET", "acme"))
        .unwrap();
    assert!(allowed.allow);
    assert_eq!(allowed.status, None);
    assert_eq!(allowed.headers.len(), 1);
    let (name, value) = allowed.headers.first().unwrap();
    assert_eq!(
        (name.as_str(), value.to_str().unwrap()),
        ("x-tenant", "acme")
    );

    let denied = policy
        .evaluate(request_input(&claims("globex"), "GET", "acme"))
        .unwrap();
    assert_eq!(
        denied,
        Verdict {
            allow: false,
            reason: Some("wrong tenant".to_owned()),
            status: Some(404),
            headers: vec![],
        }
    );
}

#[test]
fn decision_is_preferred_over_allow_when_both_exist() {
    let policy = compile(
        r#"package gatehouse.t
allow := true
decision := {"allow": false, "reason": "decision wins"}
"#,
    );
    let verdict = eval_json(&policy, json!({})).unwrap();
    assert!(!verdict.allow);
    assert_eq!(verdict.reason.as_deref(), Some("decision wins"));
}

#[test]
fn gateway_identity_header_is_refused() {
    let policy = compile(
        r#"package gatehouse.t
decision := {"allow": true, "headers": {"X-Gatehouse-Client": "admin"}}
"#,
    );
    let err = eval_json(&policy, json!({})).unwrap_err();
    assert!(matches!(&err, EvalError::BadDecision(m) if m.contains("x-gatehouse-client")));
    assert!(!err.to_string().contains("admin"), "{err}");
}

#[test]
fn authorization_header_is_refused() {
    let policy = compile(
        r#"package gatehouse.t
decision := {"allow": true, "headers": {"authorization": "Bearer x"}}
"#,
    );
    assert!(matches!(
        eval_json(&policy, json!({})),
        Err(EvalError::BadDecision(m)) if m.contains("authorization")
    ));
}

#[test]
fn ordinary_header_is_accepted() {
    let policy = compile(
        r#"package gatehouse.t
decision := {"allow": true, "headers": {"X-Tenant-Id": "acme"}}
"#,
    );
    let verdict = eval_json(&policy, json!({})).unwrap();
    assert_eq!(verdict.headers.first().unwrap().0.as_str(), "x-tenant-id");
}

#[test]
fn deny_with_status_200_is_refused() {
    let policy = compile(
        r#"package gatehouse.t
decision := {"allow": false, "status": 200}
"#,
    );
    assert!(matches!(
        eval_json(&policy, json!({})),
        Err(EvalError::BadDecision(m)) if m.contains("status")
    ));
}

#[test]
fn deny_with_status_429_is_honoured() {
    let policy = compile(
        r#"package gatehouse.t
decision := {"allow": false, "status": 429}
"#,
    );
    assert_eq!(eval_json(&policy, json!({})).unwrap().status, Some(429));
}

#[test]
fn builtin_error_is_a_runtime_error() {
    let policy = compile("package gatehouse.t\nallow if to_number(input.n) > 1\n");
    let err = eval_json(&policy, json!({"n": "secret-abc"})).unwrap_err();
    assert!(
        matches!(&err, EvalError::Runtime(m) if m.contains("policy.rego:2")),
        "{err}"
    );
    assert!(!err.to_string().contains("secret-abc"), "{err}");
    assert!(eval_json(&policy, json!({"n": "5"})).unwrap().allow);
}

#[test]
fn division_by_zero_is_a_runtime_error() {
    let policy = compile("package gatehouse.t\nallow if 10 / input.n > 1\n");
    assert!(matches!(
        eval_json(&policy, json!({"n": 0})),
        Err(EvalError::Runtime(m)) if m.contains("divide by zero")
    ));
}

#[test]
fn data_document_is_visible_to_rules() {
    let data = json!({"roles": {"alice": ["admin"], "bob": ["viewer"]}});
    let policy = Policy::compile(
        r#"package gatehouse.t
allow if "admin" in data.roles[input.user]
"#,
        Some(&data),
    )
    .unwrap();
    assert!(eval_json(&policy, json!({"user": "alice"})).unwrap().allow);
    assert!(!eval_json(&policy, json!({"user": "bob"})).unwrap().allow);
    assert!(
        !eval_json(&policy, json!({"user": "mallory"}))
            .unwrap()
            .allow
    );
}

#[test]
fn data_that_is_not_an_object_is_refused() {
    let err = Policy::compile(TENANT_POLICY, Some(&json!([1, 2]))).unwrap_err();
    assert!(matches!(err, CompileError::Data(_)), "{err}");
}

#[test]
fn oversize_data_is_refused() {
    let big = "x".repeat(MAX_DATA_BYTES);
    let err = Policy::compile(TENANT_POLICY, Some(&json!({ "blob": big }))).unwrap_err();
    assert_eq!(
        err,
        CompileError::TooLarge {
            what: "data",
            limit: MAX_DATA_BYTES
        }
    );
}

#[test]
fn syntax_error_message_carries_the_line_number() {
    let err = Policy::compile(
        "package gatehouse.t\n\nallow if {\n    input.x ==\n}\n",
        None,
    )
    .unwrap_err();
    let CompileError::Rego(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("policy.rego:5:1"), "{message}");
    assert!(message.contains("expecting expression"), "{message}");
}

#[test]
fn oversize_module_is_refused() {
    let module = format!(
        "package gatehouse.t\nallow := true\n#{}\n",
        "x".repeat(MAX_MODULE_BYTES)
    );
    assert_eq!(
        Policy::compile(&module, None).unwrap_err(),
        CompileError::TooLarge {
            what: "module",
            limit: MAX_MODULE_BYTES
        }
    );
}

#[test]
fn module_without_entry_rule_is_refused_naming_the_package() {
    let err = Policy::compile("package gatehouse.t\npermit := true\n", None).unwrap_err();
    assert_eq!(
        err,
        CompileError::NoEntryRule {
            package: "gatehouse.t".to_owned()
        }
    );
    assert!(err.to_string().contains("`decision` or `allow`"), "{err}");
}

#[test]
fn reserved_packages_are_refused() {
    for package in ["gatehouse", "system", "system.authz"] {
        let err =
            Policy::compile(&format!("package {package}\nallow := true\n"), None).unwrap_err();
        assert_eq!(err, CompileError::ReservedPackage(package.to_owned()));
    }
    assert!(Policy::compile("package gatehouse.x\nallow := true\n", None).is_ok());
    assert!(Policy::compile("package orders\nallow := true\n", None).is_ok());
}

#[test]
fn policy_is_usable_from_many_threads() {
    let policy = std::sync::Arc::new(compile(TENANT_POLICY));
    let claims = claims("acme");
    let input = request_input(&claims, "GET", "acme");
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (policy, input) = (policy.clone(), input.clone());
            s.spawn(move || assert!(policy.evaluate(input).unwrap().allow));
        }
    });
}

#[test]
fn metadata_is_visible_as_an_object() {
    let policy =
        compile("package gatehouse.t\nallow if input.principal.metadata.team == \"pay\"\n");
    let metadata = serde_json::json!({"team": "pay"})
        .as_object()
        .cloned()
        .unwrap();
    let principal = PrincipalInput {
        client_id: "c",
        application: "a",
        subject: "s",
        credential: "api_key",
        scopes: vec![],
        claims: None,
        subscription: None,
        certificate: None,
        metadata: Some(&metadata),
    };
    let input = Input {
        request: None,
        principal: Some(principal),
        api: ApiInput {
            name: "n",
            audience: "a",
        },
        operation: "op",
        time_unix: None,
    };
    assert!(policy.evaluate(input.to_value()).unwrap().allow);
}
