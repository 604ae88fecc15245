#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| coroner_fuzz::check::run("kmsg", data));
