#![no_main]
libfuzzer_sys::fuzz_target!(|delivery: fluxora_webhooks_fuzz::Delivery| fluxora_webhooks_fuzz::verify_any(&delivery));
