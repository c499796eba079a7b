use std::time::Duration;

use serde_json::{Value, json};
use wxlib::startup::Application;

use crate::helpers::*;

/// wxlib with the simulator on, its WeChat API pointed at its own `/sim/api`.
async fn app_with_simulator() -> (wxlib::services::Services, String, TestDb) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let db = sqlite_db().await;
    let mut config = test_config(&db.url, &format!("{base}/sim/api"));
    config.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
    config.server.public_url = base.clone();
    config.simulator.enabled = true;
    let app = Application::build(config).await.unwrap();
    let services = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    (services, base, db)
}

async fn control(base: &str, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/sim/api/_control{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null)
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn token_errors_from_the_stand_in_make_wxlib_refresh_and_retry_once() {
    let (s, base, _db) = app_with_simulator().await;
    control(&base, "/follow", json!({"openid": "oSimReader1"})).await;
    control(&base, "/interaction", json!({"openid": "oSimReader1", "kind": "message"})).await;
    s.db.open_window("oSimReader1", s.clock.now(), 48 * 3600, 5).await.unwrap();
    // The next custom/send answers 40001 ("not latest"), as after another node's forced refresh.
    control(&base, "/fault", json!({"path": "/cgi-bin/message/custom/send", "errcode": 40001, "times": 1})).await;
    s.push("oSimReader1", &wechat::Reply::text("您预约的书到了"), "push:1").await.unwrap();
    let mut delivered = Value::Null;
    for _ in 0..100 {
        delivered = get_json(&format!("{base}/sim/api/_control/inbox?openid=oSimReader1")).await;
        if delivered["messages"].as_array().is_some_and(|m| !m.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let messages = delivered["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 1, "{delivered}");
    assert_eq!(messages[0]["body"]["text"]["content"], "您预约的书到了");
    let calls = get_json(&format!("{base}/sim/api/_control/calls")).await;
    let paths: Vec<String> = calls["calls"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(paths.iter().filter(|p| p.ends_with("custom/send")).count(), 2, "{paths:?}");
    let forced = calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["path"] == "/cgi-bin/stable_token" && c["body"].as_str().unwrap_or_default().contains("\"force_refresh\":true"))
        .count();
    assert_eq!(forced, 1, "one forced refresh after the token error");
}

#[tokio::test]
async fn the_stand_in_enforces_the_window_and_wxlib_records_why() {
    let (s, base, _db) = app_with_simulator().await;
    // wxlib believes the window is open, but WeChat saw no interaction: 45015.
    control(&base, "/follow", json!({"openid": "oSimReader2"})).await;
    s.clock.advance(0);
    s.db.open_window("oSimReader2", s.clock.now(), 48 * 3600, 5).await.unwrap();
    control(&base, "/advance", json!({"seconds": 3600})).await;
    s.push("oSimReader2", &wechat::Reply::text("x"), "push:2").await.unwrap();
    let mut row = None;
    for _ in 0..100 {
        let rows = s.db.outbox_rows().await.unwrap();
        if let Some(r) = rows.into_iter().find(|r| r.dedupe_key == "push:2" && r.status != "pending") {
            row = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = row.expect("the outbox settled");
    assert_eq!(row.status, "expired");
    assert!(row.last_error.unwrap_or_default().contains("45015"));
}

#[tokio::test]
async fn menus_are_pushed_and_wechat_rules_enforced() {
    let (s, base, _db) = app_with_simulator().await;
    let menu = wxlib::menu::default_menu(&base);
    s.api.create_menu(&menu).await.unwrap();
    let current = get_json(&format!("{base}/sim/api/_control/menu")).await;
    assert_eq!(current["menu"]["button"][0]["name"], "图书查询");
    assert_eq!(current["menu"]["button"][1]["sub_button"][0]["url"], format!("{base}/h5/bind"));
    let too_many = json!({"button": [{"name":"a","type":"click","key":"k"},{"name":"b","type":"click","key":"k"},{"name":"c","type":"click","key":"k"},{"name":"d","type":"click","key":"k"}]});
    assert_eq!(s.api.create_menu(&too_many).await.unwrap_err().errcode(), Some(40016));
    assert_eq!(wxlib::menu::validate(&too_many).unwrap_err().errcode, 40016, "wxlib refuses it before pushing, with WeChat's code");
    let fetched = s.api.get_menu().await.unwrap();
    assert!(fetched.to_string().contains("图书查询"));
    s.api.delete_menu().await.unwrap();
}
