//! `Document::block_index`: the block a target names, as the editor and the
//! web tool find it.

use lvscf_parser::{BlockKind, Document, EditError, Target};

const TEXT: &str = "\
serial_no = 1
primary = 10.0.0.1
failover f {
     address = 10.0.0.50 eth0:2
}
virtual web {
     address = 10.0.0.100 eth0:1
     server r1 {
         address = 10.0.1.1
     }
     server r2 {
         address = 10.0.1.2
     }
}
virtual dup {
}
virtual dup {
}
";

fn server(virtual_name: &str, server: &str) -> Target {
    Target::Server {
        virtual_name: virtual_name.into(),
        server: server.into(),
    }
}

#[test]
fn finds_each_kind_of_block() {
    let doc = Document::parse("lvs.cf", TEXT);
    let s = doc.structure();
    let f = doc
        .block_index(&Target::Failover("f".into()))
        .expect("failover");
    assert_eq!(s.blocks[f].kind, BlockKind::Failover);
    assert_eq!(s.blocks[f].header, 2);
    let web = doc
        .block_index(&Target::Virtual("web".into()))
        .expect("virtual");
    assert_eq!(s.blocks[web].kind, BlockKind::Virtual);
    assert_eq!(s.blocks[web].header, 5);
    let r2 = doc.block_index(&server("web", "r2")).expect("server");
    assert_eq!(s.blocks[r2].kind, BlockKind::Server);
    assert_eq!(s.blocks[r2].parent, Some(web));
    assert_eq!(s.blocks[r2].header, 10);
    assert_eq!(s.block_name(doc.config(), r2), "r2");
}

#[test]
fn refuses_what_is_not_exactly_one_block() {
    let doc = Document::parse("lvs.cf", TEXT);
    assert_eq!(
        doc.block_index(&Target::Global),
        Err(EditError::NoSuchBlock(Target::Global))
    );
    let missing = Target::Virtual("nope".into());
    assert_eq!(
        doc.block_index(&missing),
        Err(EditError::NoSuchBlock(missing.clone()))
    );
    // A failover is not found as a virtual, nor a server of another block.
    let f = Target::Virtual("f".into());
    assert_eq!(doc.block_index(&f), Err(EditError::NoSuchBlock(f.clone())));
    let r9 = server("web", "r9");
    assert_eq!(
        doc.block_index(&r9),
        Err(EditError::NoSuchBlock(r9.clone()))
    );
    let dup = Target::Virtual("dup".into());
    assert_eq!(
        doc.block_index(&dup),
        Err(EditError::Ambiguous(dup.clone()))
    );
    // The servers of an ambiguous virtual are not looked for.
    let in_dup = server("dup", "r1");
    assert_eq!(
        doc.block_index(&in_dup),
        Err(EditError::NoSuchBlock(in_dup.clone()))
    );
    assert!(!doc.has_block(&dup));
    assert!(doc.has_block(&server("web", "r1")));
}
