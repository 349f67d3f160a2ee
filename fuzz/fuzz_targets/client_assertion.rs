//! RFC 7523 client assertions: the unverified client-id peek, then verification against a JWK Set.
#![no_main]
use {gatehouse_keys::fuzzing as keys, gatehouse_oauth::fuzzing as oauth};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    oauth::claimed_client_id(data);
    keys::verify_with_jwks(data);
});
