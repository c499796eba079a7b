use wxlib::conversation;

use crate::helpers::*;

#[tokio::test]
async fn concurrent_retries_are_handled_once_with_the_same_answer() {
    let api = fake_api().await;
    let app = spawn_app_on(sqlite_db().await, &api.base, conversation::router()).await;
    let ts = now().to_string();
    let msg = text_message("oRetry", 77, "帮助");
    let (a, b, c) =
        tokio::join!(app.post_encrypted(&msg, "5", &ts), app.post_encrypted(&msg, "5", &ts), app.post_encrypted(&msg, "5", &ts));
    let replies: Vec<String> = [a, b, c]
        .iter()
        .map(|s| {
            assert_eq!(s.status, 200);
            app.open_reply(&s.body)
        })
        .collect();
    for r in &replies {
        assert!(r.contains("您可以"), "{r}");
    }
    let events = app.db.events_of("oRetry").await.unwrap();
    assert_eq!(events.len(), 1, "logged once: {events:?}");
}

#[tokio::test]
async fn tampering_is_refused_and_the_server_keeps_serving() {
    let api = fake_api().await;
    let app = spawn_app_on(sqlite_db().await, &api.base, conversation::router()).await;
    let url = format!("{}/wechat", app.base);
    let ts = now().to_string();
    let sig = wechat::signature::sign(&[TOKEN, &ts, "1"]);
    // Bad signature.
    let r = app
        .http
        .post(&url)
        .query(&[("signature", "0".repeat(40)), ("timestamp", ts.clone()), ("nonce", "1".into())])
        .body("<xml/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Malformed XML (the outer body is read before anything is decrypted).
    let r = app
        .http
        .post(&url)
        .query(&[
            ("signature", sig.clone()),
            ("timestamp", ts.clone()),
            ("nonce", "1".into()),
            ("encrypt_type", "aes".into()),
            ("msg_signature", "0".repeat(40)),
        ])
        .body("<xml><ToUserName>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("malformed XML"));
    // Oversized.
    let big = format!("<xml><Content>{}</Content></xml>", "x".repeat(70_000));
    let r = app
        .http
        .post(&url)
        .query(&[("signature", sig.clone()), ("timestamp", ts.clone()), ("nonce", "1".into())])
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    // Stale timestamp (replay).
    let old = (now() - 3600).to_string();
    let old_sig = wechat::signature::sign(&[TOKEN, &old, "1"]);
    let r = app
        .http
        .post(&url)
        .query(&[("signature", old_sig), ("timestamp", old), ("nonce", "1".into())])
        .body(text_message("o", 1, "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Still serving.
    let ok = app.post_encrypted(&text_message("oAfter", 1, "help"), "9", &ts).await;
    assert_eq!(ok.status, 200);
    assert!(app.open_reply(&ok.body).contains("You can") || app.open_reply(&ok.body).contains("您可以"));
}
