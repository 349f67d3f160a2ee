//! The store contract, written once and run against every backend.
//!
//! Each test is an `async fn(&dyn Store)` in one of the submodules. A backend's test file
//! provides a harness (a fresh, empty store plus its teardown) and expands
//! [`conformance_tests!`] with it, which turns every listed function into a `#[tokio::test]`.
//! The body runs in its own task so a failed assertion still reaches the teardown (a
//! PostgreSQL test must drop its schema) before the panic is passed on.

pub(crate) mod api_keys;
pub(crate) mod apis;
pub(crate) mod ca;
pub(crate) mod catalog;
pub(crate) mod clients;
pub(crate) mod fixtures;
pub(crate) mod keys;
pub(crate) mod policies;
pub(crate) mod portal;
pub(crate) mod subscriptions;
pub(crate) mod tokens;
pub(crate) mod usage;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use gatehouse_store::Store;

/// Work to do after a test, whatever its outcome.
pub(crate) type Teardown = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A fresh, empty store for one test.
pub(crate) struct Harness {
    /// The store under test.
    pub(crate) store: Arc<dyn Store>,
    /// Run after the test body.
    pub(crate) teardown: Teardown,
}

impl Harness {
    /// Runs `body` against the store, then the teardown, then re-raises a panic of `body`.
    pub(crate) async fn run<F, Fut>(self, body: F)
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let outcome = tokio::spawn(body(Arc::clone(&self.store))).await;
        drop(self.store);
        (self.teardown)().await;
        if let Err(err) = outcome {
            std::panic::resume_unwind(err.into_panic());
        }
    }
}

/// Expands to one `#[tokio::test]` per conformance test, each on a store from `$harness`
/// (an `async fn() -> Option<Harness>`; `None` means the backend is skipped).
macro_rules! conformance_tests {
    ($harness:path) => {
        $crate::conformance::conformance_tests!(@tests $harness;
            apis::api_create_list_update_delete_round_trips,
            apis::api_duplicates_conflict_by_id_name_and_audience,
            apis::api_update_and_delete_of_a_missing_api_are_not_found,
            apis::deleting_an_api_deletes_its_subscriptions,
            apis::apis_list_oldest_first_with_ties_broken_by_id_bytes,
            clients::client_create_list_update_delete_round_trips_exactly,
            clients::client_duplicate_id_conflicts,
            clients::client_update_and_delete_of_a_missing_client_are_not_found,
            clients::deleting_a_client_deletes_its_secrets_and_subscriptions,
            clients::client_secrets_round_trip_and_duplicate_ids_conflict,
            clients::a_secret_for_a_missing_client_is_not_found,
            clients::expire_client_secrets_spares_keep_and_never_extends_an_earlier_expiry,
            api_keys::api_keys_round_trip_every_field_oldest_first,
            api_keys::an_api_key_for_a_missing_client_is_not_found,
            api_keys::api_key_duplicate_id_or_digest_conflicts,
            api_keys::deleting_a_client_deletes_its_api_keys,
            api_keys::revoking_an_api_key_keeps_the_first_revocation_time,
            api_keys::revoking_a_missing_api_key_is_not_found,
            api_keys::catalog_finds_an_api_key_by_digest_with_its_client,
            subscriptions::upsert_inserts_then_replaces_scopes_and_status_keeping_the_id,
            subscriptions::delete_subscription_removes_it_and_a_missing_one_is_not_found,
            subscriptions::a_subscription_to_a_missing_client_or_api_is_not_found,
            subscriptions::a_subscription_id_taken_by_another_pair_conflicts,
            keys::keys_round_trip_exactly_and_duplicate_kids_conflict,
            keys::transition_key_is_compare_and_set,
            keys::transition_key_sets_the_timestamps_of_the_target_state,
            keys::concurrent_transitions_from_the_same_state_succeed_once,
            keys::purge_keys_removes_only_retired_or_revoked_keys_past_publish_until,
            tokens::revoked_tokens_list_by_expiry_and_insert_idempotently,
            tokens::purge_revoked_tokens_removes_only_entries_expired_before_now,
            tokens::revocations_outlive_the_client,
            tokens::replace_admin_token_replaces_every_digest,
            tokens::audit_pages_newest_first_with_a_before_cursor,
            tokens::audit_details_round_trip_exactly,
            usage::usage_round_trips_every_field_exactly,
            usage::records_with_the_same_key_add_up_within_and_across_batches,
            usage::a_batch_id_seen_before_is_ignored,
            usage::purged_batch_ids_are_forgotten_and_recent_ones_kept,
            usage::sums_saturate_at_i64_max,
            usage::query_filters_by_api_client_and_minute_range_in_key_order,
            usage::deleting_a_client_or_api_deletes_its_usage,
            usage::usage_of_a_missing_client_or_api_is_skipped,
            usage::invalid_usage_is_rejected_without_writing_or_using_the_batch_id,
            ca::the_ca_is_stored_once_and_replaced_on_demand,
            ca::certificates_round_trip_and_list_per_client,
            ca::a_certificate_for_a_missing_client_is_not_found_and_duplicates_conflict,
            ca::revocation_keeps_the_first_time_and_the_deny_list_skips_expired,
            ca::purge_and_client_deletion_remove_certificates,
            policies::policy_versions_are_compare_and_set_and_kept_in_history,
            policies::one_policy_per_attachment_point,
            policies::deleting_a_policy_or_its_api_deletes_it_and_its_history,
            policies::a_policy_for_a_missing_api_is_not_found,
            policies::decisions_list_newest_first_per_api_and_purge_by_time,
            policies::decisions_about_a_deleted_api_are_dropped,
            policies::catalog_orders_global_api_and_operation_policies,
            portal::users_round_trip_and_emails_are_unique,
            portal::sessions_expire_end_and_die_with_their_user,
            portal::plans_upsert_are_unique_per_api_and_go_with_their_api,
            portal::listings_and_profiles_upsert_and_go_with_their_record,
            catalog::catalog_load_sees_every_record_type,
            catalog::catalog_cache_reload_swaps_in_changes,
        );
    };
    (@tests $harness:path; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                let Some(harness) = $harness().await else { return };
                harness
                    .run(|store| async move {
                        $crate::conformance::$module::$test(&*store).await
                    })
                    .await;
            }
        )*
    };
}
pub(crate) use conformance_tests;
