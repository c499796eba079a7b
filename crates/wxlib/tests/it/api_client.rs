use serde_json::json;
use wxlib::db::Db;
use wxlib::wechat::api::WeChatApi;

use crate::helpers::*;

#[tokio::test]
async fn token_errors_refresh_once_and_retry_once() {
    let api = fake_api().await;
    let test_db = sqlite_db().await;
    let db = Db::connect(&test_db.url).await.unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = WeChatApi::new(&api.base, APP_ID, "secret", db.clone(), "node-a".into()).unwrap();
    let body = json!({"touser": "o1", "msgtype": "text", "text": {"content": "hi"}});
    client.send_custom_message(&body).await.unwrap();
    assert_eq!(api.calls("stable_token").len(), 1);

    // Another node (or a manual reset) rotates the token: ours is now refused with 40001.
    api.state.lock().unwrap().tokens_issued += 1;
    client.send_custom_message(&body).await.unwrap();
    let token_calls = api.calls("stable_token");
    assert_eq!(token_calls.len(), 2, "refreshed once");
    assert_eq!(token_calls[1]["force_refresh"], json!(true));
    assert_eq!(api.calls("custom/send").len(), 2);

    // A second client sharing the database reuses the stored token instead of fetching one.
    let other = WeChatApi::new(&api.base, APP_ID, "secret", db, "node-b".into()).unwrap();
    other.send_custom_message(&body).await.unwrap();
    assert_eq!(api.calls("stable_token").len(), 2);
}

#[tokio::test]
async fn wechat_errors_are_reported_with_their_code() {
    let api = fake_api().await;
    let test_db = sqlite_db().await;
    let db = Db::connect(&test_db.url).await.unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = WeChatApi::new(&api.base, APP_ID, "secret", db, "node-a".into()).unwrap();
    api.state.lock().unwrap().custom_send_errors = vec![45047];
    let err = client.send_custom_message(&json!({"touser": "o1"})).await.unwrap_err();
    assert_eq!(err.errcode(), Some(45047));
    assert!(err.to_string().contains("45047"));
}
