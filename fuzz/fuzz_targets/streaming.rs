#![no_main]
libfuzzer_sys::fuzz_target!(|delivery: fluxora_webhooks_fuzz::Delivery| {
    fluxora_webhooks_fuzz::incremental_matches_one_shot(&delivery)
});
