use gatehouse_core::{ApiId, ClientId};
use sqlx::{Postgres, Sqlite};

use super::*;

fn record() -> UsageRecord {
    UsageRecord {
        minute: UnixTime(120),
        api_id: ApiId::parse("api_1").unwrap(),
        client_id: ClientId::parse("app_1").unwrap(),
        operation: "GET /orders".to_owned(),
        status_class: 2,
        count: 3,
        latency_buckets: (0..LATENCY_BUCKETS as u64).collect(),
    }
}

fn invalid_message(result: Result<UsageRow, StoreError>) -> String {
    match result {
        Err(StoreError::Invalid(msg)) => msg,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn a_record_encodes_and_decodes_back_identically() {
    let row = UsageRow::encode(&record()).unwrap();
    assert_eq!(row.latency_buckets[14], 14);
    assert_eq!(UsageRecord::try_from(row).unwrap(), record());
}

#[test]
fn counts_above_i64_max_are_invalid_and_name_the_record() {
    let mut r = record();
    r.latency_buckets[3] = u64::MAX;
    let msg = invalid_message(UsageRow::encode(&r));
    assert!(
        msg.contains("(120, api_1, app_1, 'GET /orders', 2)"),
        "{msg}"
    );
    assert!(msg.contains("latency bucket count"), "{msg}");
    r = record();
    r.count = i64::MAX as u64 + 1;
    assert!(invalid_message(UsageRow::encode(&r)).contains("count"));
}

#[test]
fn batch_ids_are_counted_in_characters() {
    assert!(check_batch_id(&"é".repeat(128)).is_ok());
    assert!(check_batch_id(&"é".repeat(129)).is_err());
    assert!(check_batch_id("").is_err());
}

#[test]
fn negative_counts_and_wide_status_classes_are_corrupt() {
    let mut row = UsageRow::encode(&record()).unwrap();
    row.latency_buckets[0] = -1;
    match UsageRecord::try_from(row.clone()) {
        Err(StoreError::Corrupt { table, detail }) => {
            assert_eq!(table, "usage");
            assert!(detail.starts_with("bucket_00:"), "{detail}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    row.latency_buckets[0] = 0;
    row.status_class = 256;
    assert!(matches!(
        UsageRecord::try_from(row),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn select_only_filters_on_what_the_query_gives() {
    let all = UsageQuery::default();
    assert_eq!(
        select::<Sqlite>(&all).sql(),
        "SELECT * FROM usage ORDER BY minute, api_id, client_id, operation, status_class"
    );
    let some = UsageQuery {
        client_id: Some(ClientId::parse("app_1").unwrap()),
        to: Some(UnixTime(600)),
        ..UsageQuery::default()
    };
    assert_eq!(
        select::<Postgres>(&some).sql(),
        "SELECT * FROM usage WHERE client_id = $1 AND minute < $2 \
         ORDER BY minute, api_id, client_id, operation, status_class"
    );
}
