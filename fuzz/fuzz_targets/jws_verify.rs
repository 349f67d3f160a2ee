//! Compact JWS verification by the server's key ring (access tokens presented for introspection).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gatehouse_keys::fuzzing::ring_verify(data));
