//! `ServerLine::parse` on any string never panics, and what it parses writes back out as a
//! line that parses to the same value.
#![no_main]

use chat_core::ServerLine;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(line) = ServerLine::parse(s) {
        let written = line.to_string();
        assert_eq!(
            ServerLine::parse(&written),
            Ok(line),
            "{s:?} wrote back as {written:?}"
        );
    }
});
