//! PKCS#10 CSRs (PEM or DER, as `/ca/v1/sign` takes them) and PEM certificate chains.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = gatehouse_ca::csr::parse(data);
    let _ = gatehouse_ca::parse_pem_certificates(&String::from_utf8_lossy(data));
});
