//! Usage: exact round trip, adding up per key, batch idempotency, saturation, filters and
//! order, cascade, skipped records of deleted APIs or applications, and refused input.

use gatehouse_core::{ApiId, ClientId, LATENCY_BUCKETS, UnixTime, UsageQuery, UsageRecord};
use gatehouse_store::Store;

use super::fixtures::{api, client, invalid_message, usage};

/// APIs `api_a`, `api_b` and clients `c1`, `c2`.
async fn seed(store: &dyn Store) {
    store.create_api(&api("api_a", "orders", 1)).await.unwrap();
    store.create_api(&api("api_b", "billing", 2)).await.unwrap();
    store.create_client(&client("c1", 1)).await.unwrap();
    store.create_client(&client("c2", 2)).await.unwrap();
}

async fn all_usage(store: &dyn Store) -> Vec<UsageRecord> {
    store.query_usage(&UsageQuery::default()).await.unwrap()
}

fn merged(records: &[&UsageRecord]) -> UsageRecord {
    let (first, rest) = records.split_first().unwrap();
    let mut sum = (*first).clone();
    for r in rest {
        sum.merge(r);
    }
    sum
}

pub(crate) async fn usage_round_trips_every_field_exactly(store: &dyn Store) {
    seed(store).await;
    let mut rich = usage(i64::MAX / 60 * 60, "api_b", "c2", "", 5, i64::MAX as u64);
    rich.latency_buckets = (0..LATENCY_BUCKETS)
        .map(|i| [0, 1, i64::MAX as u64][i % 3])
        .collect();
    let early = usage(
        i64::MIN / 60 * 60,
        "api_a",
        "c1",
        "POST /orders/{id} ünï 'q' \"d\" \\ 𝄞",
        1,
        0,
    );
    let plain = usage(120, "api_a", "c1", "GET /orders", 2, 7);
    store
        .add_usage("b1", &[rich.clone(), plain.clone(), early.clone()])
        .await
        .unwrap();
    assert_eq!(all_usage(store).await, vec![early, plain, rich]);
}

pub(crate) async fn records_with_the_same_key_add_up_within_and_across_batches(store: &dyn Store) {
    seed(store).await;
    let a = usage(60, "api_a", "c1", "op", 2, 3);
    let b = usage(60, "api_a", "c1", "op", 2, 5);
    let other_status = usage(60, "api_a", "c1", "op", 4, 1);
    store
        .add_usage("b1", &[a.clone(), b.clone(), other_status.clone()])
        .await
        .unwrap();
    store
        .add_usage("b2", std::slice::from_ref(&b))
        .await
        .unwrap();

    let sum = merged(&[&a, &b, &b]);
    assert_eq!(sum.count, 13);
    assert_eq!(all_usage(store).await, vec![sum, other_status]);
}

pub(crate) async fn a_batch_id_seen_before_is_ignored(store: &dyn Store) {
    seed(store).await;
    let a = usage(60, "api_a", "c1", "op", 2, 3);
    store
        .add_usage("gw1-42", std::slice::from_ref(&a))
        .await
        .unwrap();
    store
        .add_usage("gw1-42", std::slice::from_ref(&a))
        .await
        .unwrap();
    let other = usage(0, "api_b", "c2", "op", 2, 1);
    store.add_usage("gw1-42", &[other]).await.unwrap();
    assert_eq!(
        all_usage(store).await,
        vec![a.clone()],
        "the id alone decides"
    );

    store
        .add_usage("gw1-43", std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_eq!(all_usage(store).await, vec![merged(&[&a, &a])]);
}

pub(crate) async fn purged_batch_ids_are_forgotten_and_recent_ones_kept(store: &dyn Store) {
    seed(store).await;
    let a = usage(60, "api_a", "c1", "op", 2, 3);
    store
        .add_usage("old", std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_eq!(
        store.purge_usage_batches(UnixTime(0)).await.unwrap(),
        0,
        "nothing is that old"
    );
    assert_eq!(
        store.purge_usage_batches(UnixTime(i64::MAX)).await.unwrap(),
        1
    );
    // Once forgotten, the same id counts again (resends happen within minutes, purges after days).
    store
        .add_usage("old", std::slice::from_ref(&a))
        .await
        .unwrap();
    assert_eq!(all_usage(store).await, vec![merged(&[&a, &a])]);
}

pub(crate) async fn sums_saturate_at_i64_max(store: &dyn Store) {
    seed(store).await;
    let max = usage(60, "api_a", "c1", "op", 2, i64::MAX as u64);
    store
        .add_usage("b1", std::slice::from_ref(&max))
        .await
        .unwrap();
    store
        .add_usage("b2", std::slice::from_ref(&max))
        .await
        .unwrap();
    let mut one = usage(60, "api_a", "c1", "op", 2, 1);
    one.latency_buckets = max.latency_buckets.iter().map(|_| 1).collect();
    store.add_usage("b3", &[one]).await.unwrap();

    let mut expected = max;
    expected.latency_buckets = expected
        .latency_buckets
        .iter()
        .map(|n| if *n == 0 { 1 } else { *n })
        .collect();
    assert_eq!(all_usage(store).await, vec![expected]);
}

pub(crate) async fn query_filters_by_api_client_and_minute_range_in_key_order(store: &dyn Store) {
    seed(store).await;
    // In key order; operations sort by bytes ("B" < "a" < "é").
    let sorted = vec![
        usage(0, "api_a", "c1", "B", 2, 1),
        usage(0, "api_a", "c1", "a", 2, 2),
        usage(0, "api_a", "c1", "a", 5, 3),
        usage(0, "api_a", "c1", "é", 2, 4),
        usage(0, "api_a", "c2", "B", 2, 5),
        usage(0, "api_b", "c1", "B", 2, 6),
        usage(60, "api_a", "c2", "a", 4, 7),
        usage(60, "api_b", "c2", "a", 2, 8),
        usage(120, "api_a", "c1", "a", 2, 9),
        usage(180, "api_b", "c1", "a", 3, 10),
    ];
    let mut scrambled = sorted.clone();
    scrambled.reverse();
    scrambled.swap(0, 6);
    let (first, second) = scrambled.split_at(4);
    store.add_usage("b1", first).await.unwrap();
    store.add_usage("b2", second).await.unwrap();
    assert_eq!(all_usage(store).await, sorted);

    let api_a = ApiId::parse("api_a").unwrap();
    let c2 = ClientId::parse("c2").unwrap();
    let cases = [
        UsageQuery {
            api_id: Some(ApiId::parse("api_b").unwrap()),
            ..UsageQuery::default()
        },
        UsageQuery {
            client_id: Some(c2.clone()),
            ..UsageQuery::default()
        },
        UsageQuery {
            from: Some(UnixTime(60)),
            ..UsageQuery::default()
        },
        UsageQuery {
            to: Some(UnixTime(120)),
            ..UsageQuery::default()
        },
        UsageQuery {
            api_id: Some(api_a.clone()),
            from: Some(UnixTime(60)),
            to: Some(UnixTime(180)),
            ..UsageQuery::default()
        },
        UsageQuery {
            api_id: Some(api_a),
            client_id: Some(c2),
            from: Some(UnixTime(0)),
            to: Some(UnixTime(61)),
        },
        UsageQuery {
            from: Some(UnixTime(120)),
            to: Some(UnixTime(120)),
            ..UsageQuery::default()
        },
        UsageQuery {
            client_id: Some(ClientId::parse("ghost").unwrap()),
            ..UsageQuery::default()
        },
    ];
    for query in cases {
        let expected: Vec<UsageRecord> = sorted
            .iter()
            .filter(|r| query.api_id.as_ref().is_none_or(|a| &r.api_id == a))
            .filter(|r| query.client_id.as_ref().is_none_or(|c| &r.client_id == c))
            .filter(|r| query.from.is_none_or(|t| r.minute >= t))
            .filter(|r| query.to.is_none_or(|t| r.minute < t))
            .cloned()
            .collect();
        assert_eq!(
            store.query_usage(&query).await.unwrap(),
            expected,
            "{query:?}"
        );
    }
}

pub(crate) async fn deleting_a_client_or_api_deletes_its_usage(store: &dyn Store) {
    seed(store).await;
    let keep = usage(0, "api_a", "c2", "op", 2, 4);
    let batch = [
        usage(0, "api_a", "c1", "op", 2, 1),
        usage(0, "api_b", "c1", "op", 2, 2),
        usage(0, "api_b", "c2", "op", 2, 3),
        keep.clone(),
    ];
    store.add_usage("b1", &batch).await.unwrap();

    store
        .delete_client(&ClientId::parse("c1").unwrap())
        .await
        .unwrap();
    assert_eq!(all_usage(store).await, vec![keep.clone(), batch[2].clone()]);

    store
        .delete_api(&ApiId::parse("api_b").unwrap())
        .await
        .unwrap();
    assert_eq!(all_usage(store).await, vec![keep]);
}

pub(crate) async fn usage_of_a_missing_client_or_api_is_skipped(store: &dyn Store) {
    seed(store).await;
    let kept = usage(0, "api_a", "c1", "op", 2, 1);
    store
        .add_usage(
            "b1",
            &[
                usage(0, "api_a", "ghost", "op", 2, 1),
                kept.clone(),
                usage(0, "api_ghost", "c1", "op", 2, 1),
            ],
        )
        .await
        .unwrap();
    assert_eq!(all_usage(store).await, vec![kept.clone()]);

    // A gateway reporting usage of an application deleted since.
    store
        .delete_client(&ClientId::parse("c2").unwrap())
        .await
        .unwrap();
    let late = usage(60, "api_a", "c1", "op", 2, 2);
    store
        .add_usage("b2", &[usage(60, "api_a", "c2", "op", 2, 5), late.clone()])
        .await
        .unwrap();
    assert_eq!(all_usage(store).await, vec![kept, late]);
}

pub(crate) async fn invalid_usage_is_rejected_without_writing_or_using_the_batch_id(
    store: &dyn Store,
) {
    seed(store).await;
    let good = usage(60, "api_a", "c1", "op", 2, 3);
    let with = |change: fn(&mut UsageRecord)| {
        let mut r = good.clone();
        change(&mut r);
        r
    };
    let bad_records = [
        with(|r| r.minute = UnixTime(61)),
        with(|r| r.minute = UnixTime(-30)),
        with(|r| r.status_class = 0),
        with(|r| r.status_class = 6),
        with(|r| r.latency_buckets.pop().map(drop).unwrap_or_default()),
        with(|r| r.latency_buckets.push(0)),
        with(|r| r.count = i64::MAX as u64 + 1),
        with(|r| r.latency_buckets[2] = u64::MAX),
        with(|r| r.operation = "a\0b".to_owned()),
    ];
    for bad in &bad_records {
        let msg = invalid_message(store.add_usage("b1", &[good.clone(), bad.clone()]).await);
        assert!(msg.starts_with("usage record ("), "{msg}");
    }
    for id in [String::new(), "x".repeat(129), "b\0".to_owned()] {
        let msg = invalid_message(store.add_usage(&id, std::slice::from_ref(&good)).await);
        assert!(msg.starts_with("usage batch id"), "{id:?}: {msg}");
    }
    assert!(all_usage(store).await.is_empty(), "nothing was written");

    store
        .add_usage("b1", std::slice::from_ref(&good))
        .await
        .unwrap();
    let longest_id = "é".repeat(128);
    store
        .add_usage(&longest_id, std::slice::from_ref(&good))
        .await
        .unwrap();
    assert_eq!(all_usage(store).await, vec![merged(&[&good, &good])]);
}
