use gatehouse_core::{Alg, ApiId};

use super::*;

fn api_row() -> ApiRow {
    ApiRow {
        id: "api_1".into(),
        name: "orders".into(),
        audience: "https://orders.example".into(),
        scopes: "orders:read orders:write".into(),
        token_ttl_secs: 300,
        alg: "ES256".into(),
        claims: r#"{"tier":"gold"}"#.into(),
        copy_metadata: r#"["tenant"]"#.into(),
        resource_servers: r#"["app_1"]"#.into(),
        owners: "[]".into(),
        created_at: 1_700_000_000,
    }
}

fn corrupt_detail(err: StoreError) -> (&'static str, String) {
    match err {
        StoreError::Corrupt { table, detail } => (table, detail),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn a_well_formed_api_row_decodes_and_encodes_back_identically() {
    let api = Api::try_from(api_row()).unwrap();
    assert_eq!(api.id, ApiId::parse("api_1").unwrap());
    assert_eq!(api.alg, Alg::ES256);
    let again = ApiRow::encode(&api).unwrap();
    assert_eq!(format!("{again:?}"), format!("{:?}", api_row()));
}

#[test]
fn a_row_with_a_bad_audience_is_reported_corrupt_with_table_and_column() {
    let row = ApiRow {
        audience: "not a uri".into(),
        ..api_row()
    };
    let (table, detail) = corrupt_detail(Api::try_from(row).unwrap_err());
    assert_eq!(table, "apis");
    assert!(detail.starts_with("audience:"), "{detail}");
}

#[test]
fn unknown_enum_names_and_negative_ttls_are_corrupt() {
    let (_, detail) = corrupt_detail(
        Api::try_from(ApiRow {
            alg: "HS256".into(),
            ..api_row()
        })
        .unwrap_err(),
    );
    assert!(detail.starts_with("alg:"), "{detail}");
    let (_, detail) = corrupt_detail(
        Api::try_from(ApiRow {
            token_ttl_secs: -1,
            ..api_row()
        })
        .unwrap_err(),
    );
    assert!(detail.starts_with("token_ttl_secs:"), "{detail}");
    let (_, detail) = corrupt_detail(
        Api::try_from(ApiRow {
            claims: "[1]".into(),
            ..api_row()
        })
        .unwrap_err(),
    );
    assert!(detail.starts_with("claims:"), "{detail}");
}

#[test]
fn a_digest_that_is_not_32_bytes_is_corrupt() {
    let row = SecretRow {
        id: "s1".into(),
        client_id: "c1".into(),
        digest: vec![0; 31],
        created_at: 0,
        expires_at: None,
    };
    let (table, detail) = corrupt_detail(ClientSecret::try_from(row).unwrap_err());
    assert_eq!(table, "client_secrets");
    assert_eq!(detail, "digest: 31 bytes, expected 32");
}

#[test]
fn a_ttl_beyond_i64_cannot_be_stored() {
    let mut api = Api::try_from(api_row()).unwrap();
    api.token_ttl_secs = u64::MAX;
    assert!(matches!(ApiRow::encode(&api), Err(StoreError::Invalid(_))));
}

#[test]
fn transitions_stamp_the_columns_of_the_target_state() {
    let at = UnixTime(100);
    let active = TransitionStamps::new(KeyState::Active, at, None);
    assert_eq!(
        (active.activated, active.retired, active.retired_if_unset),
        (Some(100), None, None)
    );
    let retired = TransitionStamps::new(KeyState::Retired, at, Some(UnixTime(200)));
    assert_eq!(
        (retired.retired, retired.publish_until),
        (Some(100), Some(200))
    );
    let revoked = TransitionStamps::new(KeyState::Revoked, at, Some(at));
    assert_eq!(
        (revoked.retired, revoked.retired_if_unset),
        (None, Some(100))
    );
}
