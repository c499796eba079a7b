//! Failure handling: the real server killed or stopped mid-conversation, the circuit breaker
//! opening and recovering, and scripted servers that misbehave.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sip2::client::{BreakerState, Error};
use sip2::codec::{CirculationStatus, DecodeError, ItemInformationResponse, Message, PatronStatusResponse};
use sip2::{Charset, Client, Codec, SipDate};

use crate::common::{Action, FakeAcs, Peer, answer, peer_available, test_config};

const FAST: Duration = Duration::from_millis(200);
const READER_LIMIT: Duration = Duration::from_secs(5);

/// A good answer to an Item Information request.
fn item_answer(request: &[u8]) -> Vec<u8> {
    answer(request, item())
}

/// The same answer with sequence number `seq` and a checksum.
fn item_answer_seq(seq: u8) -> Vec<u8> {
    Codec::new(Charset::Utf8).encode(&item().into(), Some(seq)).unwrap()
}

fn item() -> ItemInformationResponse {
    ItemInformationResponse {
        circulation_status: CirculationStatus::Available,
        security_marker: 2,
        fee_type: 1,
        transaction_date: SipDate::now(None),
        item_identifier: "3901".into(),
        title_identifier: "数据结构".into(),
        ..Default::default()
    }
}

/// Flip the last checksum digit.
fn corrupt(mut frame: Vec<u8>) -> Vec<u8> {
    let i = frame.len() - 2;
    frame[i] = if frame[i] == b'0' { b'1' } else { b'0' };
    frame
}

async fn wait_until_open(client: &Client, max_calls: usize) -> Instant {
    for _ in 0..max_calls {
        let t = Instant::now();
        let r = client.item_information("3901").await;
        assert!(t.elapsed() < READER_LIMIT, "a failing call took {:?}", t.elapsed());
        match r {
            Err(Error::CircuitOpen { .. }) => return Instant::now(),
            Err(_) => {}
            Ok(v) => panic!("server is down, yet {v:?}"),
        }
        if matches!(client.breaker_state(), BreakerState::Open { .. }) {
            return Instant::now();
        }
    }
    panic!("breaker never opened: {:?}", client.breaker_state());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_mid_request_answers_fast_and_the_breaker_recovers() {
    if !peer_available() {
        return;
    }
    let mut peer = Peer::start("client", &[]);
    let client = Client::new(test_config(peer.addr()));
    let auth = client.authenticate("2021001", "1234").await.unwrap();
    assert!(auth.ok());

    // Item 3999 takes 10 s to answer: the request is in flight when the server dies.
    let c = client.clone();
    let inflight = tokio::spawn(async move {
        let t = Instant::now();
        (c.item_information("3999").await, t.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = Instant::now();
    peer.kill();
    let (result, took) = inflight.await.unwrap();
    let after_kill = killed.elapsed();
    assert!(result.is_err(), "{result:?}");
    assert!(took < READER_LIMIT, "in-flight call took {took:?}");
    assert!(after_kill < Duration::from_secs(2), "answer {after_kill:?} after the kill: {result:?}");
    eprintln!("in-flight call after kill: {after_kill:?}: {}", result.unwrap_err());

    // More failures open the breaker (threshold 3); then calls fail at once.
    let opened = wait_until_open(&client, 5).await;
    let t = Instant::now();
    match client.renew("2021001", Some("1234"), "3901").await {
        Err(Error::CircuitOpen { retry_in }) => assert!(retry_in <= Duration::from_secs(2)),
        other => panic!("expected CircuitOpen, got {other:?}"),
    }
    assert!(t.elapsed() < FAST, "open breaker took {:?}", t.elapsed());

    // The server comes back on the same port.
    peer.restart();
    if opened.elapsed() < Duration::from_millis(1500) {
        assert!(matches!(client.sc_status().await, Err(Error::CircuitOpen { .. })));
    }
    let reopen = opened + Duration::from_millis(2100);
    tokio::time::sleep_until(reopen.into()).await;
    assert_eq!(client.breaker_state(), BreakerState::HalfOpen);
    let item = client.item_information("3901").await.expect("half-open probe succeeds");
    assert_eq!(item.title, "数据结构 (C语言版)");
    assert_eq!(client.breaker_state(), BreakerState::Closed { failures: 0 });
    assert!(client.authenticate("2021001", "1234").await.unwrap().ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_times_out_and_opens_the_breaker() {
    if !peer_available() {
        return;
    }
    let peer = Peer::start("client", &[]);
    let client = Client::new(test_config(peer.addr()));
    client.item_information("3901").await.unwrap();
    peer.signal("STOP");
    let t = Instant::now();
    let err = client.item_information("3901").await.unwrap_err();
    let took = t.elapsed();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(took >= Duration::from_millis(1900) && took < READER_LIMIT, "{took:?}");
    let opened = wait_until_open(&client, 4).await;
    peer.signal("CONT");
    tokio::time::sleep_until((opened + Duration::from_millis(2100)).into()).await;
    client.item_information("3901").await.expect("recovered");
    assert_eq!(client.breaker_state(), BreakerState::Closed { failures: 0 });
}

#[tokio::test]
async fn garbage_reply_is_a_typed_error() {
    let acs = FakeAcs::start(|_, _| Action::Reply(b"hello world\r".to_vec())).await;
    let client = Client::new(test_config(acs.addr.clone()));
    match client.item_information("3901").await {
        Err(Error::Decode(DecodeError::UnknownCommand(c))) => assert_eq!(c, "he"),
        other => panic!("{other:?}"),
    }
    let acs = FakeAcs::start(|_, _| Action::Reply(b"18xx0201\r".to_vec())).await;
    let client = Client::new(test_config(acs.addr.clone()));
    assert!(matches!(
        client.item_information("3901").await,
        Err(Error::Decode(DecodeError::MalformedFixed { field: "circulation_status", .. }))
    ));
    let acs = FakeAcs::start(|_, _| Action::Reply(b"\x00\xff\xfe\r\n".to_vec())).await;
    let client = Client::new(test_config(acs.addr.clone()));
    assert!(matches!(client.item_information("3901").await, Err(Error::Decode(DecodeError::Garbage(_)))));
}

#[tokio::test]
async fn bad_checksum_asks_for_a_resend_then_gives_up() {
    // Always bad: 1 request + 3 × 97, then a typed error.
    let acs = FakeAcs::start(|frame, _| {
        let good = if frame.starts_with(b"97") { item_answer_seq(0) } else { item_answer(frame) };
        Action::Reply(corrupt(good))
    })
    .await;
    let client = Client::new(test_config(acs.addr.clone()));
    match client.item_information("3901").await {
        Err(Error::Decode(DecodeError::BadChecksum { .. })) => {}
        other => panic!("{other:?}"),
    }
    let frames = acs.frames();
    assert_eq!(frames.len(), 4);
    assert!(frames[1..].iter().all(|f| f == b"97AZFEF5"), "{frames:?}");

    // Bad once, fine on the 97.
    let acs = FakeAcs::start(|frame, n| {
        if n == 0 {
            Action::Reply(corrupt(item_answer(frame)))
        } else {
            // Replay as the ACS would: the answer to the first request (sequence 0).
            Action::Reply(item_answer_seq(0))
        }
    })
    .await;
    let client = Client::new(test_config(acs.addr.clone()));
    let item = client.item_information("3901").await.unwrap();
    assert_eq!(item.title, "数据结构");
    assert_eq!(acs.frames().len(), 2);
}

#[tokio::test]
async fn resend_on_96() {
    let acs =
        FakeAcs::start(|frame, n| if n == 0 { Action::Reply(b"96AZFEF6\r".to_vec()) } else { Action::Reply(item_answer(frame)) }).await;
    let client = Client::new(test_config(acs.addr.clone()));
    assert_eq!(client.item_information("3901").await.unwrap().title, "数据结构");
    let frames = acs.frames();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0], frames[1], "resent as is");
    assert!(frames[0].starts_with(b"17"));

    let acs = FakeAcs::start(|_, _| Action::Reply(b"96AZFEF6\r".to_vec())).await;
    let client = Client::new(test_config(acs.addr.clone()));
    assert!(matches!(client.item_information("3901").await, Err(Error::ResendLimit(3))));
    assert_eq!(acs.frames().len(), 4);
}

#[tokio::test]
async fn disconnects_hangs_and_wrong_answers() {
    let acs = FakeAcs::start(|_, _| Action::Close).await;
    let client = Client::new(test_config(acs.addr.clone()));
    assert!(matches!(client.item_information("3901").await, Err(Error::Closed)));

    // Half a frame, then silence.
    let acs = FakeAcs::start(|_, _| Action::Reply(b"1803020120261128".to_vec())).await;
    let client = Client::new(test_config(acs.addr.clone()));
    let t = Instant::now();
    assert!(matches!(client.item_information("3901").await, Err(Error::Timeout(_))));
    assert!(t.elapsed() < READER_LIMIT);

    let acs = FakeAcs::start(|_, _| Action::Hang).await;
    let client = Client::new(test_config(acs.addr.clone()));
    let t = Instant::now();
    assert!(matches!(client.item_information("3901").await, Err(Error::Timeout(_))));
    assert!(t.elapsed() < READER_LIMIT);

    let acs = FakeAcs::start(|frame, _| {
        Action::Reply(answer(frame, PatronStatusResponse { transaction_date: SipDate::now(None), ..Default::default() }))
    })
    .await;
    let client = Client::new(test_config(acs.addr.clone()));
    assert!(matches!(client.item_information("3901").await, Err(Error::UnexpectedResponse { sent: "17", got: "24" })));

    let acs = FakeAcs::start(|_, _| Action::Reply(vec![b'A'; 70_000])).await;
    let client = Client::new(test_config(acs.addr.clone()));
    assert!(matches!(client.item_information("3901").await, Err(Error::FrameTooLong(65_536))));

    // Nothing listening.
    let port = crate::common::free_port();
    let client = Client::new(test_config(format!("127.0.0.1:{port}")));
    let t = Instant::now();
    assert!(matches!(client.item_information("3901").await, Err(Error::Connect { .. })));
    assert!(t.elapsed() < FAST * 5);
}

#[tokio::test]
async fn bad_input_is_not_a_server_failure() {
    let acs = FakeAcs::start(|frame, _| Action::Reply(item_answer(frame))).await;
    let mut cfg = test_config(acs.addr.clone());
    cfg.breaker_threshold = 1;
    let client = Client::new(cfg);
    assert!(matches!(client.item_information("39|01").await, Err(Error::Encode(_))));
    assert!(matches!(client.renew("2021|001", None, "1").await, Err(Error::Encode(_))));
    assert_eq!(client.breaker_state(), BreakerState::Closed { failures: 0 });
    assert!(acs.frames().is_empty());
    client.item_information("3901").await.unwrap();
}

#[tokio::test]
async fn a_broken_connection_is_not_reused() {
    let acs = FakeAcs::start(|frame, _| {
        if frame.windows(6).any(|w| w == b"ABbad|") { Action::Reply(b"garbage\r".to_vec()) } else { Action::Reply(item_answer(frame)) }
    })
    .await;
    let client = Client::new(test_config(acs.addr.clone()));
    client.item_information("3901").await.unwrap();
    assert_eq!(client.idle_connections(), 1);
    assert!(client.item_information("bad").await.is_err());
    assert_eq!(client.idle_connections(), 0);
    client.item_information("3901").await.unwrap();
    client.item_information("3901").await.unwrap();
    assert_eq!(acs.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_closed_while_idle_is_replaced() {
    let acs = FakeAcs::start(|frame, _| Action::ReplyThenClose(item_answer(frame))).await;
    let client = Client::new(test_config(acs.addr.clone()));
    for _ in 0..3 {
        client.item_information("3901").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(acs.connections.load(Ordering::SeqCst), 3);
    assert_eq!(client.breaker_state(), BreakerState::Closed { failures: 0 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_bounds_connections() {
    let acs = FakeAcs::start(|frame, _| Action::ReplyAfter(Duration::from_millis(200), item_answer(frame))).await;
    let mut cfg = test_config(acs.addr.clone());
    cfg.pool_size = 2;
    let client = Client::new(cfg);
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.item_information("3901").await })
        })
        .collect();
    for c in calls {
        c.await.unwrap().unwrap();
    }
    assert!(acs.max_concurrent.load(Ordering::SeqCst) <= 2);
    assert_eq!(acs.connections.load(Ordering::SeqCst), 2);
    assert_eq!(client.idle_connections(), 2);
    assert!(matches!(client.call(Message::RequestAcsResend(Default::default())).await, Ok(Message::ItemInformationResponse(_))));
}
