//! The words of the editor's and the key paths' errors. `lvscf` prints them
//! and the web tool shows them next to the field: they are kept word for
//! word as they were when these errors were plain strings.

use lvscf_parser::keypath::{BadPath, KeyPath};
use lvscf_parser::write::{check_block_name, format_value, Unwritable};
use lvscf_parser::{keywords, Document, EditError, Target};

const TEXT: &str = "\
primary = 10.0.0.1
virtual web {
     address = 10.0.0.100 eth0:1
     server r1 {
         address = 10.0.1.1
     }
     server r1 {
         address = 10.0.1.2
     }
}
virtual dup {
}
virtual dup {
}
";

fn get(path: &str) -> Result<Option<String>, BadPath> {
    let doc = Document::parse("lvs.cf", TEXT);
    KeyPath::parse(path, &doc)?.get(doc.config())
}

fn message(r: Result<Option<String>, BadPath>) -> String {
    r.expect_err("an error").to_string()
}

#[test]
fn key_path_errors() {
    assert_eq!(
        message(get("server.r1")),
        "bad key path `server.r1`: expected KEY, virtual.NAME[.KEY], virtual.NAME.server.NAME[.KEY] or failover.NAME[.KEY]"
    );
    assert_eq!(
        message(get("virtual.web")),
        "a block path has no single value"
    );
    assert_eq!(
        message(get("virtual.nope.port")),
        "there is no block named `nope`"
    );
    assert_eq!(
        message(get("virtual.dup.port")),
        "several blocks are named `dup`"
    );
    assert_eq!(message(get("nope")), "unknown global keyword `nope`");
    assert_eq!(
        message(get("virtual.web.nope")),
        "unknown virtual keyword `nope`"
    );
    assert_eq!(
        message(get("virtual.web.server.r1.nope")),
        "unknown server keyword `nope`"
    );
    assert_eq!(
        message(get("virtual.web.server.r9.weight")),
        "virtual `web` has no server `r9`"
    );
    assert_eq!(
        message(get("virtual.web.server.r1.weight")),
        "several servers are named `r1`"
    );
    assert!(matches!(
        get("virtual.web.server.r9.weight"),
        Err(BadPath::NoSuchServer { .. })
    ));
}

#[test]
fn unwritable_values_and_names() {
    let send = keywords::lookup(keywords::Level::Virtual, "send").expect("send");
    let address = keywords::lookup(keywords::Level::Virtual, "address").expect("address");
    assert_eq!(
        format_value(send, "a\nb").expect_err("newline").to_string(),
        "line breaks and control characters cannot be written in lvs.cf"
    );
    let port = keywords::lookup(keywords::Level::Virtual, "scheduler").expect("scheduler");
    assert_eq!(
        format_value(port, "a \"b' c").expect_err("quotes"),
        Unwritable::BothQuotes
    );
    assert_eq!(
        Unwritable::BothQuotes.to_string(),
        "a value with blanks cannot hold both kinds of quote"
    );
    assert_eq!(
        format_value(address, "10.0.0.1 'eth0")
            .expect_err("quote")
            .to_string(),
        "`'eth0` cannot start with a quote"
    );
    assert_eq!(
        check_block_name("a b").expect_err("blank").to_string(),
        "`a b` is not a valid block name: one word, without blanks or leading quotes"
    );
}

#[test]
fn edit_errors_carry_the_same_words() {
    let mut doc = Document::parse("lvs.cf", TEXT);
    let e = doc
        .rename(&Target::Virtual("web".into()), "w w")
        .expect_err("blank");
    assert_eq!(
        e,
        EditError::Unwritable(Unwritable::BlockName("w w".into()))
    );
    assert_eq!(
        e.to_string(),
        "`w w` is not a valid block name: one word, without blanks or leading quotes"
    );
    let e = doc
        .set(&Target::Virtual("web".into()), "send", "a\rb")
        .expect_err("control");
    assert_eq!(
        e.to_string(),
        "line breaks and control characters cannot be written in lvs.cf"
    );
}
