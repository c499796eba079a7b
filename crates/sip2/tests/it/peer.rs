//! The client against the real pysip2 server (tests/peers/sip2/sip2_backend.py): with the toy
//! server's data, and with the richer `client` data set.

use sip2::client::{Error, Hold, HoldTarget};
use sip2::codec::{CirculationStatus, DecodeError, PatronFlag, SummaryKind};
use sip2::{Charset, Client};

use crate::common::{Peer, peer_available, test_config};

fn days_from_today(ts: &sip2::codec::Timestamp) -> i64 {
    let today = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 / 86_400;
    ts.days_since_epoch() - today
}

#[tokio::test]
async fn toy_server_end_to_end() {
    if !peer_available() {
        return;
    }
    let peer = Peer::start("toy", &[]);
    let client = Client::new(test_config(peer.addr()).with_login("sc", "scpass", Some("MAIN".into())));

    let st = client.sc_status().await.unwrap();
    assert!(st.online_status);
    assert_eq!(st.institution_id, "UNIVLIB");
    assert_eq!(st.supported_messages.len(), 16);

    let auth = client.authenticate("2021001", "1234").await.unwrap();
    assert!(auth.ok(), "{auth:?}");
    assert_eq!(auth.name, "张三");
    assert_eq!(auth.currency.as_deref(), Some("CNY"));
    let bad = client.authenticate("2021001", "0000").await.unwrap();
    assert!(bad.valid_patron && !bad.valid_password && !bad.ok());
    let nobody = client.authenticate("9999999", "1234").await.unwrap();
    assert!(!nobody.valid_patron && !nobody.ok());

    let info = client.patron_information("2021001", Some("1234"), Some(SummaryKind::Charged)).await.unwrap();
    assert_eq!(info.name, "张三");
    assert_eq!(info.charged_items, ["3901", "3902"]);
    assert_eq!(info.charged_count, Some(2));
    assert_eq!(info.valid_password, Some(true));
    assert_eq!(info.email.as_deref(), Some("zhangsan@example.edu"));
    let overdue = client.patron_information("2021001", Some("1234"), Some(SummaryKind::Overdue)).await.unwrap();
    assert!(overdue.charged_items.is_empty());
    assert_eq!(overdue.overdue_items.len(), usize::from(overdue.overdue_count.unwrap()));

    let item = client.item_information("3901").await.unwrap();
    assert_eq!(item.title, "数据结构 (C语言版)");
    assert_eq!(item.circulation_status, CirculationStatus::Charged);
    assert_eq!(item.due_date.as_ref().unwrap().parsed.unwrap().to_iso(), "2026-01-10 23:59:00");
    assert_eq!(item.hold_queue_length, Some(0));
    assert_eq!(item.permanent_location.as_deref(), Some("Main stacks"));
    let held = client.item_information("3902").await.unwrap();
    assert_eq!(held.hold_queue_length, Some(1));
    let free = client.item_information("3903").await.unwrap();
    assert_eq!(free.circulation_status, CirculationStatus::Available);
    assert!(free.due_date.is_none());
    let missing = client.item_information("0000").await.unwrap();
    assert_eq!(missing.messages, ["Item not found"]);

    // 3901 renews (new due date 30 days out); 3902 has a hold (and no renewals left).
    let r = client.renew("2021001", Some("1234"), "3901").await.unwrap();
    assert!(r.ok && r.renewal_ok, "{r:?}");
    assert_eq!(r.message.as_deref(), Some("Renewed"));
    let days = days_from_today(&r.due_date.unwrap().parsed.unwrap());
    assert!((29..=31).contains(&days), "due in {days} days");
    let r = client.renew("2021001", Some("1234"), "3902").await.unwrap();
    assert!(!r.ok && !r.renewal_ok);
    assert_eq!(r.message.as_deref(), Some("Item is on hold for another patron"));
    assert_eq!(r.title, "Programming Rust");

    let all = client.renew_all("2021001", Some("1234")).await.unwrap();
    assert!(all.ok);
    assert_eq!(all.renewed, ["3901"]);
    assert_eq!(all.unrenewed, ["3902"]);
    assert_eq!((all.renewed_count, all.unrenewed_count), (1, 1));

    let h = client.hold("2021001", Some("1234"), &Hold::place(HoldTarget::Item("3903".into()))).await.unwrap();
    assert!(h.ok);
    assert_eq!(h.queue_position, Some(1));
    assert_eq!(h.title.as_deref(), Some("Introduction to Algorithms"));

    assert!(client.end_session("2021001", Some("1234")).await.unwrap());
    // Everything went over the pool, no reconnects needed.
    assert!(client.idle_connections() >= 1);
}

#[tokio::test]
async fn toy_server_refuses_a_bad_sc_login() {
    if !peer_available() {
        return;
    }
    let peer = Peer::start("toy", &[]);
    let client = Client::new(test_config(peer.addr()).with_login("sc", "wrong", None));
    match client.sc_status().await {
        Err(Error::LoginRefused(user)) => assert_eq!(user, "sc"),
        other => panic!("expected LoginRefused, got {other:?}"),
    }
}

#[tokio::test]
async fn backend_holds_place_and_cancel() {
    if !peer_available() {
        return;
    }
    let peer = Peer::start("client", &[]);
    let client = Client::new(test_config(peer.addr()).with_login("sc", "scpass", None));
    let card = "2021001";

    let before = client.patron_information(card, Some("1234"), Some(SummaryKind::Hold)).await.unwrap();
    assert_eq!(before.hold_items, ["3905"]);
    assert_eq!(before.hold_count, Some(1));

    let placed = client.hold(card, Some("1234"), &Hold::place(HoldTarget::Item("3903".into())).at("MAIN")).await.unwrap();
    assert!(placed.ok, "{placed:?}");
    assert_eq!(placed.queue_position, Some(1));
    assert_eq!(placed.pickup_location.as_deref(), Some("MAIN"));
    assert!(placed.available);
    let again = client.hold(card, Some("1234"), &Hold::place(HoldTarget::Item("3903".into()))).await.unwrap();
    assert!(!again.ok);
    assert_eq!(again.messages, ["Already on hold"]);

    // Someone else queues behind.
    let other = client.hold("2021002", Some("5678"), &Hold::place(HoldTarget::Item("3903".into()))).await.unwrap();
    assert!(other.ok, "{other:?}");
    assert_eq!(other.queue_position, Some(2));

    // Title-level hold (AJ).
    let by_title = client.hold(card, Some("1234"), &Hold::place(HoldTarget::Title("计算机网络".into()))).await;
    let by_title = by_title.unwrap();
    assert!(!by_title.ok);
    assert_eq!(by_title.messages, ["Item is charged to you"]);
    let by_title = client.hold(card, Some("1234"), &Hold::place(HoldTarget::Title("Programming Rust".into()))).await;
    assert!(!by_title.unwrap().ok);

    let now = client.patron_information(card, Some("1234"), Some(SummaryKind::Hold)).await.unwrap();
    assert_eq!(now.hold_items, ["3903", "3905"]);
    let item = client.item_information("3903").await.unwrap();
    assert_eq!(item.hold_queue_length, Some(2));

    let cancelled = client.hold(card, Some("1234"), &Hold::cancel(HoldTarget::Item("3903".into()))).await.unwrap();
    assert!(cancelled.ok, "{cancelled:?}");
    let twice = client.hold(card, Some("1234"), &Hold::cancel(HoldTarget::Item("3903".into()))).await.unwrap();
    assert!(!twice.ok);
    assert_eq!(twice.messages, ["No hold to cancel"]);
    let after = client.patron_information(card, Some("1234"), Some(SummaryKind::Hold)).await.unwrap();
    assert_eq!(after.hold_items, ["3905"]);

    let wrong_pin = client.hold(card, Some("9999"), &Hold::place(HoldTarget::Item("3903".into()))).await.unwrap();
    assert!(!wrong_pin.ok);
    let shelf = client.item_information("3905").await.unwrap();
    assert_eq!(shelf.circulation_status, CirculationStatus::WaitingOnHoldShelf);
    assert_eq!(shelf.current_location.as_deref(), Some("Hold shelf"));
}

#[tokio::test]
async fn backend_renewals_with_refusals() {
    if !peer_available() {
        return;
    }
    let peer = Peer::start("client", &[]);
    let client = Client::new(test_config(peer.addr()));
    let r = client.renew("2021001", Some("1234"), "3904").await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.message.as_deref(), Some("Renewal limit reached"));
    assert_eq!(r.due_date.unwrap().parsed.unwrap().to_iso(), "2026-12-15 23:59:00");
    let r = client.renew("2021001", Some("0000"), "3901").await.unwrap();
    assert!(!r.ok);
    assert_eq!(r.message.as_deref(), Some("Invalid patron or password"));
    let r = client.renew("2021001", Some("1234"), "3903").await.unwrap();
    assert_eq!(r.message.as_deref(), Some("Item not charged to this patron"));

    let all = client.renew_all("2021001", Some("1234")).await.unwrap();
    assert!(all.ok);
    assert_eq!(all.renewed, ["3901"]);
    assert_eq!(all.unrenewed, ["3902", "3904"]);
    assert_eq!(all.messages, ["3902: Item is on hold for another patron", "3904: Renewal limit reached"]);

    let loans = client.loans("2021001", Some("1234")).await.unwrap();
    let titles: Vec<_> = loans.iter().map(|l| l.title.as_str()).collect();
    assert_eq!(titles, ["数据结构 (C语言版)", "Programming Rust", "计算机网络"]);
    assert!(loans.iter().all(|l| l.due_date.as_ref().is_some_and(|d| d.parsed.is_some())));

    let page = client.patron_information_page("2021001", Some("1234"), Some(SummaryKind::Charged), Some((2, 3))).await.unwrap();
    assert_eq!(page.charged_items, ["3902", "3904"]);
    assert_eq!(page.charged_count, Some(3));
}

#[tokio::test]
async fn backend_blocked_patron_and_bad_password() {
    if !peer_available() {
        return;
    }
    let peer = Peer::start("client", &[]);
    let client = Client::new(test_config(peer.addr()));
    let auth = client.authenticate("2021002", "5678").await.unwrap();
    assert!(auth.ok());
    assert_eq!(auth.name, "李四");
    assert_eq!(auth.status.flags(), [PatronFlag::ChargePrivilegesDenied, PatronFlag::ExcessiveOutstandingFines]);
    assert_eq!(auth.fee_amount.as_deref(), Some("12.50"));
    let info = client.patron_information("2021002", Some("5678"), Some(SummaryKind::Fine)).await.unwrap();
    assert_eq!(info.fine_items, ["12.50 CNY overdue fine"]);
    assert_eq!(info.messages, ["Patron blocked: fines"]);
    assert!(info.blocks().contains(&PatronFlag::ChargePrivilegesDenied));

    let bad = client.authenticate("2021002", "1234").await.unwrap();
    assert!(bad.valid_patron && !bad.valid_password);
    let info = client.patron_information("2021001", Some("bad"), None).await.unwrap();
    assert_eq!(info.valid_password, Some(false));
    let unknown = client.authenticate("0000000", "").await.unwrap();
    assert!(!unknown.valid_patron);
    assert_eq!(unknown.messages, ["Unknown patron"]);
}

#[tokio::test]
async fn backend_in_gbk() {
    if !peer_available() {
        return;
    }
    let peer = Peer::start("client", &["--encoding", "gbk"]);
    let mut cfg = test_config(peer.addr());
    cfg.charset = Charset::Gbk;
    let client = Client::new(cfg);
    let auth = client.authenticate("2021001", "1234").await.unwrap();
    assert_eq!(auth.name, "张三");
    let item = client.item_information("3904").await.unwrap();
    assert_eq!(item.title, "计算机网络");
    let h = client.hold("2021001", Some("1234"), &Hold::place(HoldTarget::Title("算法导论".into()))).await.unwrap();
    assert!(h.ok, "{h:?}");
    assert_eq!(h.title.as_deref(), Some("算法导论"));

    // A client configured for UTF-8 gets a typed charset error, not mojibake or a panic.
    let mut cfg = test_config(peer.addr());
    cfg.charset = Charset::Utf8;
    let wrong = Client::new(cfg);
    match wrong.authenticate("2021001", "1234").await {
        Err(Error::Decode(DecodeError::BadCharset { field, charset })) => {
            assert_eq!((field.as_str(), charset), ("AE", "UTF-8"));
        }
        other => panic!("expected BadCharset, got {other:?}"),
    }
}

#[tokio::test]
async fn backend_login_required_and_no_error_detection() {
    if !peer_available() {
        return;
    }
    let peer = Peer::start("client", &["--login-required"]);
    // Without login pysip2 drops the connection: an error, quickly.
    let client = Client::new(test_config(peer.addr()));
    let err = client.item_information("3901").await.unwrap_err();
    assert!(matches!(err, Error::Closed | Error::Io(_)), "{err:?}");
    // With login it works, and without AY/AZ too (pysip2 answers in the style it was asked).
    let mut cfg = test_config(peer.addr()).with_login("sc", "scpass", None);
    cfg.error_detection = false;
    let client = Client::new(cfg);
    assert_eq!(client.item_information("3901").await.unwrap().title, "数据结构 (C语言版)");
}
