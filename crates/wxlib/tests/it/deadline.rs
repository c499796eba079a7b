use std::sync::Arc;
use std::time::Duration;

use wechat::{Inbound, Reply};
use wxlib::conversation::{self, Conversation, TextPattern};
use wxlib::services::Services;
use wxlib::wechat::router::{HandlerError, Router, handler};

use crate::helpers::*;

/// The account's router, plus a text `word` whose handler takes `secs` and then answers
/// "查完了: <sender>".
fn router_with_slow(word: &str, secs: u64) -> Router<Services> {
    Conversation::default()
        .on_text(
            TextPattern::Exact(word.into()),
            handler(move |_s: Services, m: Arc<Inbound>| async move {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                Ok::<_, HandlerError>(Reply::text(format!("查完了: {}", m.from_user)))
            }),
        )
        .router()
}

#[tokio::test]
async fn a_slow_handler_is_answered_in_time_and_delivered_by_customer_service() {
    let api = fake_api().await;
    let app = spawn_app_on(sqlite_db().await, &api.base, router_with_slow("slow", 10)).await;
    let ts = now().to_string();
    let sent = app.post_encrypted(&text_message("oSlow", 42, "slow"), "111", &ts).await;
    assert_eq!(sent.status, 200);
    assert_eq!(sent.body, "success");
    assert!(sent.elapsed < Duration::from_secs(5), "answered in {:?}", sent.elapsed);

    // WeChat's retry after the deadline gets `success` too, and starts nothing new.
    let retry = app.post_encrypted(&text_message("oSlow", 42, "slow"), "111", &ts).await;
    assert_eq!((retry.status, retry.body.as_str()), (200, "success"));

    assert!(eventually(15, || !api.calls("custom/send").is_empty()).await, "the late answer reached the customer-service API");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sends = api.calls("custom/send");
    assert_eq!(sends.len(), 1, "delivered exactly once: {sends:?}");
    assert_eq!(sends[0]["touser"], "oSlow");
    assert_eq!(sends[0]["msgtype"], "text");
    assert_eq!(sends[0]["text"]["content"], "查完了: oSlow");
    let rows = app.db.outbox_rows().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "sent");
}

#[tokio::test]
async fn a_late_answer_outside_the_window_is_not_sent_and_says_why() {
    let api = fake_api().await;
    let app = spawn_app_on(sqlite_db().await, &api.base, conversation::router()).await;
    // Nobody with this openid ever wrote to us, so the window is closed.
    let body = serde_json::json!({"touser": "oStranger", "msgtype": "text", "text": {"content": "x"}});
    app.db.enqueue_outbox("oStranger", &body, "push:1", now()).await.unwrap();
    let db = app.db.clone();
    let mut status = String::new();
    for _ in 0..60 {
        status = db.outbox_rows().await.unwrap()[0].status.clone();
        if status != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "expired");
    assert!(db.outbox_rows().await.unwrap()[0].last_error.as_deref().unwrap_or_default().contains("45015"));
    assert!(api.calls("custom/send").is_empty());
}

/// The handler runs in the request's own task; when the caller hangs up before the answer is
/// ready (a network blip, WeChat giving up), the handler must not be cancelled half-way: it is
/// moved to a task of its own, its answer goes out once by customer-service message, and the
/// callback is recorded so that WeChat's retry starts nothing new.
#[tokio::test]
async fn a_handler_whose_caller_hangs_up_still_answers_once() {
    let api = fake_api().await;
    let app = spawn_app_on(sqlite_db().await, &api.base, router_with_slow("two", 2)).await;
    let ts = now().to_string();
    let message = text_message("oHangUp", 77, "two");
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let gave_up = app.encrypted_request(&impatient, &message, "222", &ts).send().await;
    assert!(gave_up.is_err(), "the client gave up before the answer: {gave_up:?}");

    assert!(eventually(10, || !api.calls("custom/send").is_empty()).await, "the answer reached the customer-service API");
    let sends = api.calls("custom/send");
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0]["touser"], "oHangUp");
    assert_eq!(sends[0]["text"]["content"], "查完了: oHangUp");

    // WeChat retries the callback it saw fail: `success`, and the handler does not run again.
    let retry = app.post_encrypted(&message, "222", &ts).await;
    assert_eq!((retry.status, retry.body.as_str()), (200, "success"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(api.calls("custom/send").len(), 1, "delivered exactly once");
}
