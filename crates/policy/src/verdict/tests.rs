use super::*;

fn json(s: &str) -> Value {
    Value::from_json_str(s).unwrap()
}

#[test]
fn truncation_keeps_whole_characters() {
    assert_eq!(truncate("héllo", 2), "h");
    assert_eq!(truncate("héllo", 3), "hé");
    assert_eq!(truncate("abc", 512), "abc");
}

#[test]
fn long_reason_is_cut_to_the_limit() {
    let reason = "é".repeat(MAX_REASON_BYTES); // 2 bytes each
    let v = json(&format!(r#"{{"allow": false, "reason": "{reason}"}}"#));
    let got = Entry::Decision.verdict(&v).unwrap().reason.unwrap();
    assert_eq!(got.len(), MAX_REASON_BYTES);
    assert!(got.chars().all(|c| c == 'é'));
}

#[test]
fn header_names_are_refused_case_insensitively() {
    for name in [
        "Authorization",
        "X-Gatehouse-Subject",
        "Transfer-Encoding",
        "TE",
    ] {
        let v = json(&format!(
            r#"{{"allow": true, "headers": {{"{name}": "x"}}}}"#
        ));
        let err = Entry::Decision.verdict(&v).unwrap_err();
        assert!(
            err.to_string().contains(&name.to_ascii_lowercase()),
            "{name}: {err}"
        );
    }
}

#[test]
fn header_names_differing_only_in_case_are_refused_as_duplicates() {
    let v = json(r#"{"allow": true, "headers": {"X-Tenant": "a", "x-tenant": "b"}}"#);
    assert!(matches!(
        Entry::Decision.verdict(&v),
        Err(EvalError::BadDecision(m)) if m.contains("twice")
    ));
}

#[test]
fn more_than_sixteen_headers_are_refused() {
    let many: Vec<String> = (0..=MAX_DECISION_HEADERS)
        .map(|i| format!(r#""x-h{i}": "v""#))
        .collect();
    let v = json(&format!(
        r#"{{"allow": true, "headers": {{{}}}}}"#,
        many.join(",")
    ));
    assert!(matches!(
        Entry::Decision.verdict(&v),
        Err(EvalError::BadDecision(_))
    ));
    let ok = json(&format!(
        r#"{{"allow": true, "headers": {{{}}}}}"#,
        many.get(..MAX_DECISION_HEADERS).unwrap().join(",")
    ));
    assert_eq!(
        Entry::Decision.verdict(&ok).unwrap().headers.len(),
        MAX_DECISION_HEADERS
    );
}

#[test]
fn header_value_with_a_newline_is_refused_without_quoting_it() {
    let v = json(r#"{"allow": true, "headers": {"x-tenant": "a\nsecret"}}"#);
    let err = Entry::Decision.verdict(&v).unwrap_err().to_string();
    assert!(err.contains("x-tenant"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn invalid_header_name_is_refused() {
    let v = json(r#"{"allow": true, "headers": {"bad name": "x"}}"#);
    assert!(matches!(
        Entry::Decision.verdict(&v),
        Err(EvalError::BadDecision(_))
    ));
}

#[test]
fn status_and_headers_apply_only_on_their_branch() {
    let allowed = json(r#"{"allow": true, "status": 403, "headers": {"x-a": "1"}}"#);
    let v = Entry::Decision.verdict(&allowed).unwrap();
    assert_eq!((v.allow, v.status, v.headers.len()), (true, None, 1));
    let denied = json(r#"{"allow": false, "status": 403, "headers": {"x-a": "1"}}"#);
    let v = Entry::Decision.verdict(&denied).unwrap();
    assert_eq!((v.allow, v.status, v.headers.len()), (false, Some(403), 0));
}

#[test]
fn non_integer_status_is_refused() {
    for status in [r#""403""#, "403.5", "-1", "70000"] {
        let v = json(&format!(r#"{{"allow": false, "status": {status}}}"#));
        assert!(
            matches!(Entry::Decision.verdict(&v), Err(EvalError::BadDecision(_))),
            "{status}"
        );
    }
}

#[test]
fn decision_without_allow_member_denies() {
    let v = json(r#"{"reason": "no"}"#);
    let got = Entry::Decision.verdict(&v).unwrap();
    assert!(!got.allow);
    assert_eq!(got.reason.as_deref(), Some("no"));
}

#[test]
fn non_object_decision_is_refused() {
    assert!(matches!(
        Entry::Decision.verdict(&Value::from(true)),
        Err(EvalError::BadDecision(_))
    ));
}
