//! Arbitrary strings into passive replies: the rendered XML must parse back with our reader and
//! give back exactly the strings that went in (CDATA escaping of "]]>" included).
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use wechat::{Article, Reply, xml};

fn article(u: &mut Unstructured) -> Result<Article> {
    Ok(Article { title: u.arbitrary()?, description: u.arbitrary()?, pic_url: u.arbitrary()?, url: u.arbitrary()? })
}

fn check(data: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(data);
    let to_user: String = u.arbitrary()?;
    let from_user: String = u.arbitrary()?;
    let create_time: i64 = u.arbitrary()?;
    let news = u.arbitrary::<bool>()?;
    let reply = if news {
        let n = u.int_in_range(0..=9)?;
        Reply::News { articles: (0..n).map(|_| article(&mut u)).collect::<Result<_>>()? }
    } else {
        Reply::Text { content: u.arbitrary()? }
    };
    let _ = reply.validate(true);
    let _ = reply.validate(false);

    let x = reply.to_xml(&to_user, &from_user, create_time).expect("only Success renders to None");
    let el = match xml::parse(x.as_bytes()) {
        Ok(el) => el,
        Err(e) => panic!("rendered reply does not parse: {e}\n{x:?}"),
    };
    assert_eq!(el.name, "xml");
    assert_eq!(el.child_text("ToUserName"), Some(to_user.as_str()));
    assert_eq!(el.child_text("FromUserName"), Some(from_user.as_str()));
    assert_eq!(el.child_text("CreateTime"), Some(create_time.to_string().as_str()));
    match &reply {
        Reply::Text { content } => {
            assert_eq!(el.child_text("MsgType"), Some("text"));
            assert_eq!(el.child_text("Content"), Some(content.as_str()));
        }
        Reply::News { articles } => {
            assert_eq!(el.child_text("MsgType"), Some("news"));
            assert_eq!(el.child_text("ArticleCount"), Some(articles.len().to_string().as_str()));
            let items = &el.child("Articles").expect("Articles").children;
            assert_eq!(items.len(), articles.len());
            for (item, a) in items.iter().zip(articles) {
                assert_eq!(item.name, "item");
                assert_eq!(item.child_text("Title"), Some(a.title.as_str()));
                assert_eq!(item.child_text("Description"), Some(a.description.as_str()));
                assert_eq!(item.child_text("PicUrl"), Some(a.pic_url.as_str()));
                assert_eq!(item.child_text("Url"), Some(a.url.as_str()));
            }
        }
        _ => unreachable!(),
    }
    // The same escaping guards the encrypted-reply envelope.
    let body = wechat::envelope::encrypted_reply(&to_user, &from_user, &create_time.to_string(), &to_user);
    let (enc, sig, ts, nonce) = wechat::envelope::parse_encrypted_reply(body.as_bytes()).expect("envelope parses");
    assert_eq!(
        (enc.as_str(), sig.as_str(), ts, nonce.as_str()),
        (to_user.as_str(), from_user.as_str(), create_time.to_string(), to_user.as_str())
    );
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = check(data);
});
