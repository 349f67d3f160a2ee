//! `POST /oauth2/token` form bodies (strict urlencoded parsing).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gatehouse_oauth::fuzzing::parse_form(data));
