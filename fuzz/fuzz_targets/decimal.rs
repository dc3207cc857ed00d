#![no_main]
libfuzzer_sys::fuzz_target!(|input: &[u8]| fluxora_webhooks_fuzz::decimal_any(input));
