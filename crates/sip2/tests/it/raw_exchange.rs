//! Byte-for-byte agreement with the real exchange against pysip2
//! (`tests/fixtures/raw_exchange.txt`).

use std::sync::{Arc, Mutex};

use sip2::client::{Hold, HoldTarget};
use sip2::codec::*;
use sip2::{Charset, Client, Codec};

use crate::common::{Action, FakeAcs, raw_exchange, test_config};

fn date() -> SipDate {
    "20261128    125723".parse().unwrap()
}

/// The 13 requests of the exchange, built by hand, with their sequence numbers.
fn requests() -> Vec<(Message, u8)> {
    let d = date();
    let s = |x: &str| x.to_string();
    vec![
        (
            LoginRequest {
                uid_algorithm: '0',
                pwd_algorithm: '0',
                login_user_id: s("sc"),
                login_password: s("scpass"),
                location_code: Some(s("MAIN")),
                extra: vec![],
            }
            .into(),
            0,
        ),
        (ScStatusRequest { status_code: 0, max_print_width: 80, protocol_version: s("2.00"), extra: vec![] }.into(), 1),
        (
            PatronStatusRequest {
                language: 1,
                transaction_date: d,
                institution_id: s("UNIVLIB"),
                patron_identifier: s("2021001"),
                terminal_password: s(""),
                patron_password: s("1234"),
                extra: vec![],
            }
            .into(),
            2,
        ),
        (
            PatronInformationRequest {
                language: 1,
                transaction_date: d,
                summary: Summary::of(SummaryKind::Charged),
                institution_id: s("UNIVLIB"),
                patron_identifier: s("2021001"),
                terminal_password: Some(s("")),
                patron_password: Some(s("1234")),
                start_item: Some(s("1")),
                end_item: Some(s("5")),
                extra: vec![],
            }
            .into(),
            3,
        ),
        (
            ItemInformationRequest {
                transaction_date: d,
                institution_id: s("UNIVLIB"),
                item_identifier: s("3901"),
                terminal_password: Some(s("")),
                extra: vec![],
            }
            .into(),
            4,
        ),
        (renew(d, "3901"), 5),
        (renew(d, "3902"), 6),
        (
            RenewAllRequest {
                transaction_date: d,
                institution_id: s("UNIVLIB"),
                patron_identifier: s("2021001"),
                patron_password: Some(s("1234")),
                terminal_password: Some(s("")),
                fee_acknowledged: Some(s("N")),
                extra: vec![],
            }
            .into(),
            7,
        ),
        (checkout(d), 8),
        (checkin(d), 9),
        (
            HoldRequest {
                hold_mode: HoldMode::Add,
                transaction_date: d,
                institution_id: s("UNIVLIB"),
                patron_identifier: s("2021001"),
                patron_password: Some(s("1234")),
                item_identifier: Some(s("3903")),
                terminal_password: Some(s("")),
                ..Default::default()
            }
            .into(),
            0,
        ),
        (fee_paid(d), 1),
        (
            EndPatronSessionRequest {
                transaction_date: d,
                institution_id: s("UNIVLIB"),
                patron_identifier: s("2021001"),
                terminal_password: Some(s("")),
                patron_password: Some(s("1234")),
                extra: vec![],
            }
            .into(),
            2,
        ),
    ]
}

fn renew(d: SipDate, barcode: &str) -> Message {
    RenewRequest {
        third_party_allowed: false,
        no_block: false,
        transaction_date: d,
        nb_due_date: d,
        institution_id: "UNIVLIB".into(),
        patron_identifier: "2021001".into(),
        patron_password: Some("1234".into()),
        item_identifier: Some(barcode.into()),
        terminal_password: Some("".into()),
        fee_acknowledged: Some("N".into()),
        ..Default::default()
    }
    .into()
}

fn checkout(d: SipDate) -> Message {
    CheckoutRequest {
        sc_renewal_policy: false,
        no_block: false,
        transaction_date: d,
        nb_due_date: d,
        institution_id: "UNIVLIB".into(),
        patron_identifier: "2021001".into(),
        item_identifier: "3903".into(),
        terminal_password: "".into(),
        patron_password: Some("1234".into()),
        fee_acknowledged: Some("N".into()),
        cancel: Some("N".into()),
        ..Default::default()
    }
    .into()
}

fn checkin(d: SipDate) -> Message {
    CheckinRequest {
        no_block: false,
        transaction_date: d,
        return_date: d,
        current_location: "MAIN".into(),
        institution_id: "UNIVLIB".into(),
        item_identifier: "3903".into(),
        terminal_password: "".into(),
        ..Default::default()
    }
    .into()
}

fn fee_paid(d: SipDate) -> Message {
    FeePaidRequest {
        transaction_date: d,
        fee_type: 1,
        payment_type: 0,
        currency_type: "CNY".into(),
        fee_amount: "5.00".into(),
        institution_id: "UNIVLIB".into(),
        patron_identifier: "2021001".into(),
        terminal_password: Some("".into()),
        patron_password: Some("1234".into()),
        ..Default::default()
    }
    .into()
}

#[test]
fn hand_built_requests_encode_to_the_same_bytes() {
    let codec = Codec::new(Charset::Utf8);
    let wire: Vec<Vec<u8>> = raw_exchange().into_iter().filter(|(d, _)| *d == '>').map(|(_, b)| b).collect();
    let built = requests();
    assert_eq!(wire.len(), 13);
    assert_eq!(built.len(), wire.len());
    for ((msg, seq), bytes) in built.iter().zip(&wire) {
        let ours = codec.encode(msg, Some(*seq)).unwrap();
        assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(bytes), "{} differs", msg.name());
        assert_eq!(&ours, bytes);
        // And the wire bytes decode to the same value.
        let frame = codec.decode(bytes).unwrap();
        assert_eq!(&frame.message, msg);
        assert_eq!(frame.sequence, Some(*seq));
    }
}

#[test]
fn every_frame_decodes_and_re_encodes_identically() {
    let codec = Codec::new(Charset::Utf8);
    let all = raw_exchange();
    assert_eq!(all.len(), 26);
    for (dir, bytes) in &all {
        let frame = codec.decode(bytes).unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(bytes)));
        assert!(frame.checksum.is_some());
        assert_eq!(frame.message.is_request(), *dir == '>');
        assert!(frame.message.extra().is_empty(), "no unknown fields in {}", frame.message.name());
        assert_eq!(&codec.encode(&frame.message, frame.sequence).unwrap(), bytes);
    }
}

#[test]
fn responses_read_right() {
    let codec = Codec::new(Charset::Utf8);
    let responses: Vec<Message> =
        raw_exchange().into_iter().filter(|(d, _)| *d == '<').map(|(_, b)| codec.decode(&b).unwrap().message).collect();
    let [login, status, pstatus, pinfo, item, renew_ok, renew_no, renew_all, checkout, checkin, hold, fee, end] =
        responses.try_into().unwrap();
    assert!(matches!(login, Message::LoginResponse(LoginResponse { ok: true, .. })));
    let Message::AcsStatusResponse(s) = status else { panic!() };
    assert!(s.online_status && s.checkin_ok && !s.status_update_ok);
    assert_eq!((s.timeout_period, s.retries_allowed), (30, 3));
    assert_eq!(s.supported_messages, "YYYNYYYYYYYNNYYY");
    assert_eq!(s.library_name.as_deref(), Some("Univ Library"));
    let Message::PatronStatusResponse(p) = pstatus else { panic!() };
    assert_eq!(p.personal_name, "张三");
    assert_eq!(yes(&p.valid_patron), Some(true));
    assert_eq!(yes(&p.valid_patron_password), Some(true));
    assert_eq!(p.fee_amount.as_deref(), Some("0.00"));
    let Message::PatronInformationResponse(p) = pinfo else { panic!() };
    assert_eq!(p.charged_items, ["3901", "3902"]);
    assert_eq!(p.charged_items_count, Some(2));
    assert_eq!(p.overdue_items_count, Some(2));
    assert_eq!(p.email_address.as_deref(), Some("zhangsan@example.edu"));
    assert!(p.patron_status.flags().is_empty());
    let Message::ItemInformationResponse(i) = item else { panic!() };
    assert_eq!(i.circulation_status, CirculationStatus::Charged);
    assert_eq!(i.title_identifier, "数据结构 (C语言版)");
    assert_eq!(parse_due_date(i.due_date.as_deref().unwrap()).unwrap().to_iso(), "2026-01-10 23:59:00");
    let Message::RenewResponse(r) = renew_ok else { panic!() };
    assert!(r.ok && r.renewal_ok);
    assert_eq!(r.due_date, "20261228    235900");
    assert_eq!(r.screen_message, ["Renewed"]);
    let Message::RenewResponse(r) = renew_no else { panic!() };
    assert!(!r.ok && !r.renewal_ok);
    assert_eq!(r.screen_message, ["Item is on hold for another patron"]);
    let Message::RenewAllResponse(r) = renew_all else { panic!() };
    assert_eq!((r.renewed_items, r.unrenewed_items), (vec!["3901".to_string()], vec!["3902".to_string()]));
    assert!(matches!(checkout, Message::CheckoutResponse(CheckoutResponse { ok: true, desensitize: Tristate::Yes, .. })));
    assert!(matches!(checkin, Message::CheckinResponse(CheckinResponse { ok: true, resensitize: true, .. })));
    let Message::HoldResponse(h) = hold else { panic!() };
    assert!(h.ok && !h.available);
    assert_eq!(h.queue_position.as_deref(), Some("1"));
    assert!(matches!(fee, Message::FeePaidResponse(FeePaidResponse { payment_accepted: true, .. })));
    assert!(matches!(end, Message::EndSessionResponse(EndSessionResponse { end_session: true, .. })));
}

/// Replace every local date the client wrote with the fixture's, and recompute the checksum
/// (after checking the client's own one). `frame` comes without its `\r`.
fn normalise(frame: &[u8]) -> Vec<u8> {
    let codec = Codec::new(Charset::Utf8);
    codec.decode(frame).expect("client sent a valid frame");
    let mut body = frame.to_vec();
    let n = body.len();
    assert_eq!(&body[n - 6..n - 4], b"AZ");
    body.truncate(n - 4);
    let mut i = 0;
    while i + 18 <= body.len() {
        let w = &body[i..i + 18];
        if w[..8].iter().all(u8::is_ascii_digit) && &w[8..12] == b"    " && w[12..].iter().all(u8::is_ascii_digit) {
            body[i..i + 18].copy_from_slice(b"20261128    125723");
            i += 18;
        } else {
            i += 1;
        }
    }
    let ck = sip2::codec::checksum::checksum_hex(&body);
    body.extend_from_slice(&ck);
    body.push(b'\r');
    body
}

/// The client's own requests, on one connection, match the reference exchange byte for byte
/// (dates aside), and it reads the real answers right.
#[tokio::test]
async fn client_speaks_like_the_reference() {
    let exchange = raw_exchange();
    let expected: Vec<Vec<u8>> = exchange.iter().filter(|(d, _)| *d == '>').map(|(_, b)| b.clone()).collect();
    let replies: Vec<Vec<u8>> = exchange.iter().filter(|(d, _)| *d == '<').map(|(_, b)| b.clone()).collect();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let acs = FakeAcs::start(move |frame, n| {
        g.lock().unwrap().push(frame.to_vec());
        match replies.get(n) {
            Some(r) => Action::Reply(r.clone()),
            None => Action::Close,
        }
    })
    .await;
    let mut cfg = test_config(acs.addr.clone()).with_login("sc", "scpass", Some("MAIN".into()));
    cfg.pool_size = 1;
    cfg.language = 1;
    let client = Client::new(cfg);
    let d = date();

    let status = client.sc_status().await.unwrap();
    assert!(status.online_status);
    let auth = client.authenticate("2021001", "1234").await.unwrap();
    assert!(auth.ok());
    assert_eq!(auth.name, "张三");
    let info = client.patron_information_page("2021001", Some("1234"), Some(SummaryKind::Charged), Some((1, 5))).await.unwrap();
    assert_eq!(info.charged_items, ["3901", "3902"]);
    let item = client.item_information("3901").await.unwrap();
    assert_eq!(item.title, "数据结构 (C语言版)");
    assert_eq!(item.hold_queue_length, Some(0));
    let r = client.renew("2021001", Some("1234"), "3901").await.unwrap();
    assert!(r.ok);
    assert_eq!(r.due_date.unwrap().parsed.unwrap().to_iso(), "2026-12-28 23:59:00");
    let r = client.renew("2021001", Some("1234"), "3902").await.unwrap();
    assert!(!r.ok && !r.renewal_ok);
    assert_eq!(r.message.as_deref(), Some("Item is on hold for another patron"));
    let all = client.renew_all("2021001", Some("1234")).await.unwrap();
    assert_eq!((all.renewed, all.unrenewed), (vec!["3901".to_string()], vec!["3902".to_string()]));
    client.call(checkout(d)).await.unwrap();
    client.call(checkin(d)).await.unwrap();
    let h = client.hold("2021001", Some("1234"), &Hold::place(HoldTarget::Item("3903".into()))).await.unwrap();
    assert_eq!((h.ok, h.queue_position), (true, Some(1)));
    client.call(fee_paid(d)).await.unwrap();
    assert!(client.end_session("2021001", Some("1234")).await.unwrap());

    let got = got.lock().unwrap().clone();
    assert_eq!(acs.connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(got.len(), expected.len());
    for (ours, theirs) in got.iter().zip(&expected) {
        assert_eq!(String::from_utf8_lossy(&normalise(ours)), String::from_utf8_lossy(theirs));
    }
}
