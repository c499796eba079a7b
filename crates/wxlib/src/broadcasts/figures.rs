//! WeChat's own figures for mass news messages (`datacube/getarticletotal`), fetched once a day
//! when `[reach] datacube = true` and shown beside wxlib's own read counts. wxlib counts unique
//! readers of its `/news/{id}` page; WeChat counts opens of the article inside WeChat
//! (`int_page_read_*`) and taps on 阅读原文 (`ori_page_read_*`), which lead to that page.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::BroadcastError;
use crate::clock::local_day;
use crate::services::Services;

/// WeChat reports an article for 7 days after it was sent.
const REPORTED_DAYS: i64 = 7;

/// WeChat's cumulative figures for one message (all its batches), as of `stat_date`.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct WeChatFigures {
    pub stat_date: String,
    pub target_user: i64,
    pub int_page_read_user: i64,
    pub int_page_read_count: i64,
    pub ori_page_read_user: i64,
    pub ori_page_read_count: i64,
    pub share_user: i64,
    pub share_count: i64,
    pub add_to_fav_user: i64,
    pub add_to_fav_count: i64,
}

fn num(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// Asks WeChat for the figures of every message sent in the last 7 full days (one
/// `getarticletotal` call per send day, which must be over) and stores them. Returns how many
/// messages got figures. Does nothing unless `[reach] datacube = true`.
pub async fn fetch_wechat_figures(s: &Services) -> Result<usize, BroadcastError> {
    if !s.config.reach.datacube {
        return Ok(0);
    }
    let now = s.clock.now();
    let today = local_day(now);
    let mut by_day: BTreeMap<String, HashMap<i64, i64>> = BTreeMap::new();
    for (broadcast, data_id, sent_at) in s.db.batches_sent_since(now - (REPORTED_DAYS + 1) * crate::clock::DAY_SECS).await? {
        let day = local_day(sent_at);
        // WeChat has no figures for today yet (end_date ≤ yesterday).
        if day < today {
            by_day.entry(day).or_default().insert(data_id, broadcast);
        }
    }
    let mut totals: HashMap<i64, WeChatFigures> = HashMap::new();
    for (day, ours) in &by_day {
        let v =
            s.api.call("datacube/getarticletotal", "/datacube/getarticletotal", Some(&json!({"begin_date": day, "end_date": day}))).await?;
        for article in v.get("list").and_then(Value::as_array).into_iter().flatten() {
            // "<msg_data_id>_<index>": ours when the msg_data_id is one of our batches.
            let msgid = article.get("msgid").and_then(Value::as_str).unwrap_or_default();
            let Some(broadcast) = msgid.split('_').next().and_then(|d| d.parse::<i64>().ok()).and_then(|d| ours.get(&d)) else { continue };
            // Details are cumulative per stat_date: the latest one is the figure so far.
            let Some(latest) = article
                .get("details")
                .and_then(Value::as_array)
                .and_then(|d| d.iter().max_by_key(|x| x.get("stat_date").and_then(Value::as_str).map(str::to_owned)))
            else {
                continue;
            };
            let t = totals.entry(*broadcast).or_default();
            let stat = latest.get("stat_date").and_then(Value::as_str).unwrap_or_default();
            if stat > t.stat_date.as_str() {
                t.stat_date = stat.to_owned();
            }
            t.target_user += num(latest, "target_user");
            t.int_page_read_user += num(latest, "int_page_read_user");
            t.int_page_read_count += num(latest, "int_page_read_count");
            t.ori_page_read_user += num(latest, "ori_page_read_user");
            t.ori_page_read_count += num(latest, "ori_page_read_count");
            t.share_user += num(latest, "share_user");
            t.share_count += num(latest, "share_count");
            t.add_to_fav_user += num(latest, "add_to_fav_user");
            t.add_to_fav_count += num(latest, "add_to_fav_count");
        }
    }
    for (id, f) in &totals {
        s.db.save_wechat_figures(*id, f, now).await?;
    }
    Ok(totals.len())
}

/// Runs forever: fetches WeChat's figures once a day, after 08:00 Beijing time (WeChat's data
/// for yesterday is ready by then).
pub async fn daily(s: Services) {
    let done_for = std::sync::Mutex::new(String::new());
    let (s, done_for) = (&s, &done_for);
    let every = crate::jobs::Pause::every(std::time::Duration::from_secs(600));
    crate::jobs::forever("WeChat's article figures", every, move || async move {
        let now = s.clock.now();
        let day = local_day(now);
        let hour = crate::clock::seconds_into_day(now) / 3600;
        let due = *done_for.lock().unwrap_or_else(|p| p.into_inner()) != day;
        if s.config.reach.datacube && hour >= 8 && due {
            match fetch_wechat_figures(s).await {
                Ok(n) => {
                    tracing::info!(messages = n, "fetched WeChat's article figures");
                    *done_for.lock().unwrap_or_else(|p| p.into_inner()) = day;
                }
                Err(e) => tracing::warn!(error = %e, "cannot fetch WeChat's article figures; will retry"),
            }
        }
        Ok::<_, BroadcastError>(crate::jobs::Next::Pause)
    })
    .await
}
