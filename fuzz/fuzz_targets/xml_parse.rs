//! Arbitrary bytes into the XML reader and the inbound-message parser, as a callback body
//! (plaintext mode, or the decrypted inner XML) reaches them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wechat::message::ParseError;
use wechat::{Inbound, xml};

fuzz_target!(|data: &[u8]| {
    let tree = xml::parse(data);
    let inbound = Inbound::parse(data);

    // Inbound::parse is xml::parse followed by from_element: the two must agree.
    match (&tree, &inbound) {
        (Err(xe), Err(ParseError::Xml(ie))) => assert_eq!(xe, ie),
        (Err(xe), other) => panic!("xml::parse failed ({xe}) but Inbound::parse gave {other:?}"),
        (Ok(_), Err(ParseError::Xml(e))) => {
            panic!("xml::parse succeeded but Inbound::parse reported an XML error: {e}")
        }
        (Ok(el), _) => {
            // Exercise the tree accessors the server uses.
            let _ = el.child_text("Encrypt");
            let _ = el.path(&["SendPicsInfo", "PicList"]);
            let _ = wechat::envelope::encrypt_field(el);
            let again = Inbound::from_element(el.clone());
            assert_eq!(again.is_ok(), inbound.is_ok());
            if let (Ok(a), Ok(b)) = (&again, &inbound) {
                assert_eq!(a.dedupe_key(), b.dedupe_key());
            }
        }
    }

    if let Ok(msg) = inbound {
        assert_eq!(msg.raw.name, "xml");
        let key = msg.dedupe_key();
        assert!(!key.is_empty());
        let ev = msg.event();
        assert_eq!(ev.is_some(), !msg.is_user_message());
        if let Some(ev) = ev {
            let _ = ev.name();
            assert!(key.starts_with("evt:") || key.starts_with("job:"), "{key}");
        } else {
            assert!(key.starts_with("msg:"), "{key}");
        }
        if let Some(id) = &msg.msg_id {
            assert!(!id.is_empty() && id.trim() == id);
        }
    }
});
