//! Uploaded Rego modules, policy answers read as decisions, and query strings in the input.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    gatehouse_policy::fuzzing::compile(data);
    gatehouse_policy::fuzzing::verdict(data);
    gatehouse_policy::fuzzing::input_query(data);
});
