//! `cargo +nightly fuzz run parse`: arbitrary bytes through the parser, the
//! writer and the editor. Properties: no panic, lossless round trip, and a
//! loadable file survives write_config -> parse with the same config.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvscf_parser::{write_config, Document, Target};

fuzz_target!(|data: &[u8]| {
    let doc = Document::parse("fuzz.cf", data.to_vec());
    assert_eq!(doc.as_bytes(), data);
    for d in doc.diagnostics() {
        let _ = d.render("fuzz.cf");
    }
    if let Ok((config, _)) = doc.load() {
        if let Ok(text) = write_config(config) {
            let again = Document::parse("again.cf", text);
            assert_eq!(again.config(), config);
        }
        let mut edited = doc.clone();
        let _ = edited.set(&Target::Global, "serial_no", "42");
    }
});
