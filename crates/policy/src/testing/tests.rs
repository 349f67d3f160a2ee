use std::fs;

use super::*;

const POLICY: &str = r#"package gatehouse.orders

# test_commented if { false }
allow if {
    input.method == "GET"
    input.user in data.gatehouse.orders.readers
}
"#;

const TESTS: &str = r#"package gatehouse.orders_test

import data.gatehouse.orders

test_reader_may_get if {
    print("checking", "alice")
    orders.allow with input as {"method": "GET", "user": "alice"}
}

test_reader_may_not_delete if {
    not orders.allow with input as {"method": "DELETE", "user": "alice"}
}

test_stranger_is_allowed_fails if {
    print("stranger")
    orders.allow with input as {"method": "GET", "user": "mallory"}
}

test_errors if {
    to_number("abc") > 1
}

test_flag := data.flags.on
"#;

/// A directory with a policy, its tests, a nested `data.json`, a root `data.json` and a hidden
/// directory whose broken module must be ignored.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("gatehouse/orders")).unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::write(root.join("policy.rego"), POLICY).unwrap();
    fs::write(root.join("policy_test.rego"), TESTS).unwrap();
    fs::write(
        root.join("gatehouse/orders/data.json"),
        r#"{"readers": ["alice"]}"#,
    )
    .unwrap();
    fs::write(root.join("data.json"), r#"{"flags": {"on": true}}"#).unwrap();
    fs::write(root.join(".git/broken.rego"), "package x\nallow if {").unwrap();
    fs::write(root.join("notes.txt"), "not rego").unwrap();
    dir
}

fn outcome<'a>(report: &'a TestReport, name: &str) -> &'a Outcome {
    &report
        .results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} not run"))
        .outcome
}

#[test]
fn passing_failing_and_erroring_tests_are_told_apart() {
    let dir = fixture();
    let report = run_dir(dir.path(), None).unwrap();
    let names: Vec<&str> = report.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "test_reader_may_get",
            "test_reader_may_not_delete",
            "test_stranger_is_allowed_fails",
            "test_errors",
            "test_flag",
        ]
    );
    assert_eq!(outcome(&report, "test_reader_may_get"), &Outcome::Pass);
    assert_eq!(
        outcome(&report, "test_reader_may_not_delete"),
        &Outcome::Pass
    );
    assert_eq!(
        outcome(&report, "test_stranger_is_allowed_fails"),
        &Outcome::Fail
    );
    assert!(matches!(
        outcome(&report, "test_errors"),
        Outcome::Error(m) if m.contains("policy_test.rego:20") && m.contains("could not parse")
    ));
    assert_eq!(outcome(&report, "test_flag"), &Outcome::Pass);
    assert!(
        report
            .results
            .iter()
            .all(|r| r.package == "gatehouse.orders_test")
    );
    assert!(!report.passed());
}

#[test]
fn prints_are_collected_per_test() {
    let dir = fixture();
    let report = run_dir(dir.path(), None).unwrap();
    let prints = |name: &str| {
        report
            .results
            .iter()
            .find(|r| r.name == name)
            .unwrap()
            .prints
            .clone()
    };
    assert_eq!(prints("test_reader_may_get").len(), 1);
    assert!(prints("test_reader_may_get")[0].contains("checking alice"));
    assert_eq!(prints("test_stranger_is_allowed_fails").len(), 1);
    assert!(prints("test_reader_may_not_delete").is_empty());
}

#[test]
fn report_prints_each_test_and_the_totals() {
    let dir = fixture();
    let text = run_dir(dir.path(), None).unwrap().to_string();
    assert!(
        text.contains("PASS: data.gatehouse.orders_test.test_reader_may_get ("),
        "{text}"
    );
    assert!(
        text.contains("FAIL: data.gatehouse.orders_test.test_stranger_is_allowed_fails ("),
        "{text}"
    );
    assert!(
        text.contains("ERROR: data.gatehouse.orders_test.test_errors : "),
        "{text}"
    );
    assert!(
        text.contains("  policy_test.rego") || text.contains("stranger"),
        "{text}"
    );
    assert!(text.contains("\nPASS: 3/5\n"), "{text}");
    assert!(text.contains("\nFAIL: 1/5\n"), "{text}");
    assert!(text.contains("\nERROR: 1/5\n"), "{text}");
}

#[test]
fn filter_keeps_tests_whose_package_and_name_contain_it() {
    let dir = fixture();
    let report = run_dir(dir.path(), Some("orders_test.test_reader")).unwrap();
    assert_eq!(report.results.len(), 2);
    assert!(report.passed());
    assert!(report.to_string().ends_with("PASS: 2/2\n"));

    let none = run_dir(dir.path(), Some("no_such_test")).unwrap();
    assert!(none.results.is_empty());
    assert!(!none.passed());
}

#[test]
fn compile_error_names_the_file() {
    let dir = fixture();
    let bad = dir.path().join("gatehouse/bad.rego");
    fs::write(&bad, "package bad\n\nallow if {\n").unwrap();
    let err = run_dir(dir.path(), None).unwrap_err();
    let TestError::Compile { path, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, &bad);
    assert!(message.contains("bad.rego:"), "{message}");
    assert!(
        err.to_string().starts_with(&bad.display().to_string()),
        "{err}"
    );
}

#[test]
fn invalid_data_json_names_the_file() {
    let dir = fixture();
    let bad = dir.path().join("gatehouse/orders/data.json");
    fs::write(&bad, "{not json").unwrap();
    assert!(matches!(
        run_dir(dir.path(), None),
        Err(TestError::Data { path, .. }) if path == bad
    ));
}

#[test]
fn missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    assert!(matches!(
        run_dir(&missing, None),
        Err(TestError::Io { path, .. }) if path == missing
    ));
}

#[test]
fn rule_heads_are_found_only_at_the_start_of_a_line() {
    let source = "test_a if {\n  true\n}\ntest_b {\n}\n test_c := 1\ntest_d = 2\n\
                  test_e == 3\n# test_f if { true }\nx := test_g\ntest_hif := 1\ntest_i if true\n";
    let names: Vec<&str> = test_rule_names(source).collect();
    assert_eq!(
        names,
        ["test_a", "test_b", "test_c", "test_d", "test_hif", "test_i"]
    );
}

#[test]
fn local_assignment_named_like_a_test_is_not_run() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("t.rego"),
        "package t\n\ntest_real if {\n  test_local := 1\n  test_local == 1\n}\n",
    )
    .unwrap();
    let report = run_dir(dir.path(), None).unwrap();
    let names: Vec<&str> = report.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["test_real"]);
    assert!(report.passed());
}

#[test]
fn bench_policies_pass_their_tests() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/policies"));
    let report = run_dir(dir, None).unwrap();
    assert!(report.passed(), "{report}");
    assert!(report.results.len() >= 5, "{report}");
}
