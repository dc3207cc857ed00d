//! The server suite, run once per database backend by `sqlite.rs` and `postgres.rs`.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod api;
pub mod delivery;
pub mod indexer;
pub mod receiver;
pub mod websocket;

/// One `#[tokio::test]` per case, on `$backend`.
#[macro_export]
macro_rules! server_suite {
    ($backend:expr) => {
        $crate::server_suite!(@cases $backend;
            receiver::accepts_a_signed_delivery,
            receiver::answers_each_header_failure,
            receiver::answers_missing_secret,
            receiver::enforces_the_body_limit,
            receiver::rotation_and_expiry_of_the_previous_secret,
            receiver::catches_duplicates_and_replayed_signatures,
            receiver::answers_consumer_overloaded_when_the_store_is_full,
            receiver::duplicates_are_caught_across_restarts,
            receiver::a_reserved_delivery_is_in_progress_until_released,
            receiver::a_handler_that_fails_leaves_the_delivery_to_its_retry,
            api::info_health_and_readiness,
            api::security_headers_and_request_ids_everywhere,
            api::unknown_routes_methods_media_types_and_malformed_json,
            api::writes_need_an_api_key,
            api::creates_with_normalized_amounts,
            api::rejects_each_invalid_field,
            api::paginates_with_an_opaque_cursor,
            api::rejects_bad_list_parameters,
            api::idempotency_keys_replay_or_conflict,
            api::status_transitions_and_cancel,
            api::rate_limits_per_ip_and_per_key,
            api::metrics_and_openapi,
            api::cors_allow_list_and_the_metrics_token,
            api::runtime_api_keys,
            delivery::endpoints_admin_api,
            delivery::stream_changes_arrive_signed_and_in_order,
            delivery::retries_a_failed_attempt_and_keeps_stream_order,
            delivery::permanent_failures_become_dead_letters_and_replay,
            delivery::exhausted_retries_become_dead_letters,
            delivery::duplicate_delivery_answers_count_as_delivered,
            delivery::an_open_circuit_spares_a_dead_endpoint,
            delivery::egress_policy_refuses_internal_targets,
            delivery::egress_policy_is_enforced_at_connect_time,
            delivery::admin_actions_are_audited,
            delivery::claims_span_more_endpoints_than_one_statement_takes,
            websocket::websocket_updates_for_subscribed_streams_once,
            websocket::websocket_never_sends_an_older_version_after_a_newer,
            websocket::feed_rows_carry_the_database_clock,
            websocket::websocket_error_codes_keep_the_connection,
            websocket::websocket_connection_limit_per_ip,
            websocket::websocket_pings_and_drops_silent_clients,
            indexer::indexer_batches_need_the_token_and_valid_events,
            indexer::chain_events_reach_webhooks_and_websocket_clients,
            indexer::a_reorg_rolls_back_and_reapplies,
            indexer::a_stall_is_latched_until_cleared,
            indexer::historical_events_replay_in_batches,
        );
    };
    (@cases $backend:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                suite::$module::$case($backend).await;
            }
        )*
    };
}
