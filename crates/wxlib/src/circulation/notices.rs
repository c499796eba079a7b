//! Notices from the library system: a hold ready to pick up, a loan that can no longer be renewed
//! because another reader reserved it, and 到书提醒 — a reader asked (from a record's detail in
//! chat, or on its page) to be told when a copy is back on the shelf, and is told once.
//!
//! One node at a time (the `circulation_notices` lease) runs a round every
//! `circulation.notices.poll_interval_secs` on the job runner: for each bound reader the library
//! system's [`LibrarySystem::circumstances`](super::LibrarySystem::circumstances) (over SIP2:
//! Patron Information with the charged items and, when its counts say there are any, the
//! available holds, then Item Information for those holds and for each loan's hold queue; on the
//! built-in system its own holds, made ready by its checkin, and the holds placed on loaned
//! titles), then the copies of every watched record. Over SIP2 the round waits its turn for every
//! request ([`Pace`], `requests_per_sec`) with at most `parallelism` readers at once: a round over
//! R readers with L loans and H holds makes about R + L + H requests plus one per copy of a
//! watched title (3,000 readers with 2 loans each at the default 10 a second: about 15 minutes,
//! one round after the other).
//!
//! Each notice goes once: what a round sees is marked (`notice_marks`: reader, kind, subject and
//! since when) and the notice is queued in the outbox under a key made of those, which the outbox
//! takes once; a mark is dropped when its circumstance ends, so a new occurrence is a new notice.
//! A shelf watch ends once its notice is queued. Across restarts and nodes the marks, watches and
//! outbox keys are in the shared store. Notices go as customer-service messages while the reader's
//! window is open, else as the configured template message (checked against the account's
//! template at start), and name a card only masked.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use wechat::Reply;

use super::binding::mask;
use super::{CopyState, Pace};
use crate::clock::local_day;
use crate::config::TemplateConfig;
use crate::db::DbError;
use crate::jobs::{Next, Pause};
use crate::lang::Lang;
use crate::services::Services;
use crate::wechat::templates::{self, Carries};

/// The lease that keeps the rounds to one node at a time.
pub const LEASE: &str = "circulation_notices";

const HOLD_READY: &str = "hold_ready";
const RESERVED: &str = "reserved";

const HOLD_READY_ROLES: &[(&str, Carries)] = &[("title", Carries::Text), ("pickup", Carries::Text), ("date", Carries::Date)];
const RESERVED_ROLES: &[(&str, Carries)] = &[("title", Carries::Text), ("due", Carries::Date), ("note", Carries::Text)];
const AVAILABLE_ROLES: &[(&str, Carries)] = &[("title", Carries::Text), ("location", Carries::Text), ("date", Carries::Date)];

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundSummary {
    pub readers: usize,
    /// Readers the library system did not answer about (tried again next round).
    pub unavailable: usize,
    pub hold_ready: usize,
    pub reserved: usize,
    pub watches: usize,
    pub available: usize,
}

/// Runs the rounds forever on this node, whenever it holds the lease.
pub async fn poller(s: Services) {
    let cfg = s.config.circulation.notices.clone();
    if !cfg.enabled {
        return;
    }
    check_templates(&s).await;
    let node = format!("{:016x}", rand::random::<u64>());
    let pace = Pace::per_sec(cfg.requests_per_sec);
    // A round holds a short lease, renewed every second while it runs (thousands of readers at
    // the paced rate take minutes), so a node that dies mid-round lets another node run the next
    // round within seconds (issue 18: the lease was 10 minutes); between rounds only for the
    // interval.
    const ROUND_LEASE_SECS: i64 = 5;
    let interval_secs = cfg.poll_interval_secs as i64;
    let (s, pace, node) = (&s, &pace, &node);
    crate::jobs::forever("circulation notices", Pause::every(Duration::from_secs(cfg.poll_interval_secs)), move || async move {
        if !s.db.try_lease(LEASE, node, ROUND_LEASE_SECS, s.clock.now()).await? {
            return Ok::<_, DbError>(Next::Pause);
        }
        let clock = s.clock.clone();
        let held = crate::jobs::HeldLease::keep_by(&s.db, LEASE, node, ROUND_LEASE_SECS, move || clock.now());
        let summary = round(s, pace).await;
        drop(held);
        let summary = summary?;
        if summary.hold_ready + summary.reserved + summary.available + summary.unavailable > 0 {
            tracing::info!(?summary, "circulation notices");
        }
        // Kept for `lease_secs`, a node that restarts (under a new id) would find its own old
        // lease and send nothing for ten minutes.
        s.db.try_lease(LEASE, node, interval_secs, s.clock.now()).await?;
        Ok(Next::Pause)
    })
    .await
}

/// Says at start whether each configured template fits the account's template as WeChat
/// defines it, naming the configuration key that is wrong.
pub async fn check_templates(s: &Services) {
    let n = &s.config.circulation.notices;
    for (key, t, roles) in [
        ("circulation.notices.hold_ready_template", &n.hold_ready_template, HOLD_READY_ROLES),
        ("circulation.notices.renew_blocked_template", &n.renew_blocked_template, RESERVED_ROLES),
        ("circulation.notices.available_template", &n.available_template, AVAILABLE_ROLES),
    ] {
        if t.id.is_empty() {
            continue;
        }
        match template_fits(s, t, roles).await {
            Ok(true) => tracing::info!(key, template = %t.id, "template message checked against the account's template"),
            Ok(false) => {}
            Err(reason) => {
                tracing::error!(key, template = %t.id, %reason, "template message does not fit the account's template; notices go as customer-service messages only")
            }
        }
    }
}

/// `Ok(true)`: checked and fits; `Ok(false)`: WeChat could not be asked (the template is used
/// unchecked, and WeChat itself refuses what does not fit); `Err`: does not fit.
async fn template_fits(s: &Services, t: &TemplateConfig, roles: &[(&str, Carries)]) -> Result<bool, String> {
    match s.api.templates().await {
        Ok(list) => templates::check(list.iter().find(|d| d.id == t.id), &t.id, &t.fields, roles).map(|()| true),
        Err(e) => {
            tracing::warn!(error = %e, template = %t.id, "cannot list the account's templates to check the notice template");
            Ok(false)
        }
    }
}

/// One round over the bound readers and the shelf watches.
pub async fn round(s: &Services, pace: &Pace) -> Result<RoundSummary, DbError> {
    let mut summary = RoundSummary::default();
    let bindings = s.db.all_bindings().await?;
    let parallelism = s.config.circulation.notices.parallelism;
    let mut answers = futures::stream::iter(bindings)
        .map(|(openid, card)| async move {
            let answer = s.ils.circumstances(&card, pace).await;
            (openid, card, answer)
        })
        .buffer_unordered(parallelism);
    while let Some((openid, card, answer)) = answers.next().await {
        summary.readers += 1;
        let c = match answer {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "notices: the library system did not answer for one reader; next round");
                summary.unavailable += 1;
                continue;
            }
        };
        let now = s.clock.now();
        for (hold_id, title, pickup) in &c.ready_holds {
            let since = s.db.notice_mark(&openid, HOLD_READY, hold_id, now).await?;
            let key = format!("notice:{HOLD_READY}:{openid}:{hold_id}:{since}");
            if hold_ready(s, &openid, &card, title, pickup.as_deref(), &key).await? {
                summary.hold_ready += 1;
            }
        }
        let ids: Vec<String> = c.ready_holds.iter().map(|(id, _, _)| id.clone()).collect();
        s.db.clear_notice_marks_except(&openid, HOLD_READY, &ids).await?;
        for (barcode, title, due_at) in &c.reserved_loans {
            let since = s.db.notice_mark(&openid, RESERVED, barcode, now).await?;
            let key = format!("notice:{RESERVED}:{openid}:{barcode}:{since}");
            if reserved(s, &openid, &card, title, *due_at, &key).await? {
                summary.reserved += 1;
            }
        }
        let barcodes: Vec<String> = c.reserved_loans.iter().map(|(b, _, _)| b.clone()).collect();
        s.db.clear_notice_marks_except(&openid, RESERVED, &barcodes).await?;
    }
    drop(answers);
    shelf_watches(s, pace, &mut summary).await?;
    Ok(summary)
}

/// Tells the readers waiting for a copy of a record that one is on the shelf, and ends their
/// watches.
async fn shelf_watches(s: &Services, pace: &Pace, summary: &mut RoundSummary) -> Result<(), DbError> {
    let watches = s.db.shelf_watches().await?;
    summary.watches = watches.len();
    let copies = &s.catalog.copies;
    let mut i = 0;
    while i < watches.len() {
        let record_id = watches[i].1.clone();
        let group: Vec<_> = watches[i..].iter().take_while(|w| w.1 == record_id).cloned().collect();
        i += group.len();
        let mut on_shelf = None;
        for item in s.db.items_of(&record_id).await? {
            if copies.remote() {
                pace.turn().await;
            }
            if copies.ask(&item.barcode).await.is_some_and(|st| st.state == CopyState::Available) {
                on_shelf = Some(item);
                break;
            }
        }
        let Some(item) = on_shelf else { continue };
        let place = [item.location.clone(), item.call_number.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        for (openid, _, created_at, title) in group {
            let title = title.unwrap_or_else(|| record_id.clone());
            let key = format!("notice:available:{openid}:{record_id}:{created_at}");
            if available(s, &openid, &record_id, &title, &place, &key).await? {
                summary.available += 1;
            }
            s.db.end_shelf_watch(&openid, &record_id, created_at).await?;
        }
    }
    Ok(())
}

/// The template message a notice falls back to: the configured template, the roles it may
/// carry, their values, and the page it opens.
struct Fallback<'a> {
    template: &'a TemplateConfig,
    roles: &'a [(&'a str, Carries)],
    values: &'a [(&'a str, String)],
    url: &'a str,
}

/// Queues a notice: the text as a customer-service message, the template as its fallback.
async fn notify(s: &Services, openid: &str, key: &str, text: String, f: Fallback<'_>) -> Result<bool, DbError> {
    let t = f.template;
    let fallback: Option<Value> = if t.id.is_empty() {
        None
    } else {
        match template_fits(s, t, f.roles).await {
            Ok(_) => Some(templates::body(openid, &t.id, &t.fields, f.values, f.url, key)),
            Err(reason) => {
                tracing::warn!(template = %t.id, %reason, "notice template does not fit; customer-service message only");
                None
            }
        }
    };
    s.outbox.push_or_template(openid, &Reply::text(text), fallback.as_ref(), key).await
}

async fn hold_ready(s: &Services, openid: &str, card: &str, title: &str, pickup: Option<&str>, key: &str) -> Result<bool, DbError> {
    let place = pickup.map(str::to_owned).unwrap_or_else(|| s.config.library.name.clone());
    let text = match s.lang {
        Lang::Zh => format!("【预约到书】您预约的《{title}》已到馆，请到{place}取书（一卡通 {}）。回复“我的预约”查看。", mask(card)),
        Lang::En => {
            format!("Your hold \"{title}\" is ready to pick up at {place} (card {}). Reply \"holds\" to see your holds.", mask(card))
        }
    };
    let values = [("title", title.to_owned()), ("pickup", place), ("date", local_day(s.clock.now()))];
    let url = format!("{}/h5/bind", s.config.server.public_url);
    let template = &s.config.circulation.notices.hold_ready_template;
    notify(s, openid, key, text, Fallback { template, roles: HOLD_READY_ROLES, values: &values, url: &url }).await
}

async fn reserved(s: &Services, openid: &str, card: &str, title: &str, due_at: i64, key: &str) -> Result<bool, DbError> {
    let due = local_day(due_at);
    let text = match s.lang {
        Lang::Zh => format!("【不能续借】您借阅的《{title}》已有其他读者预约，不能再续借，请在 {due} 前归还（一卡通 {}）。", mask(card)),
        Lang::En => {
            format!("\"{title}\" can no longer be renewed: another reader reserved it. Please return it by {due} (card {}).", mask(card))
        }
    };
    let note = match s.lang {
        Lang::Zh => "已有读者预约，请按时归还".to_owned(),
        Lang::En => "Reserved by another reader".to_owned(),
    };
    let values = [("title", title.to_owned()), ("due", due), ("note", note)];
    let url = format!("{}/h5/bind", s.config.server.public_url);
    let template = &s.config.circulation.notices.renew_blocked_template;
    notify(s, openid, key, text, Fallback { template, roles: RESERVED_ROLES, values: &values, url: &url }).await
}

async fn available(s: &Services, openid: &str, record_id: &str, title: &str, place: &str, key: &str) -> Result<bool, DbError> {
    let url = format!("{}/opac/record/{}", s.config.server.public_url, crate::web::urlencode(record_id));
    let text = match s.lang {
        Lang::Zh => format!(
            "【到书提醒】您关注的《{title}》现在有可借的复本{}。<a href=\"{url}\">查看</a>\n这次提醒已完成；如需再次提醒，请在书目详情中回复“到书提醒”。",
            if place.is_empty() { String::new() } else { format!("（{place}）") }
        ),
        Lang::En => format!(
            "\"{title}\" is back on the shelf{}. <a href=\"{url}\">See it</a>\nThis was your one notice; reply \"notify me\" on its details to be told again.",
            if place.is_empty() { String::new() } else { format!(" ({place})") }
        ),
    };
    let values = [("title", title.to_owned()), ("location", place.to_owned()), ("date", local_day(s.clock.now()))];
    let template = &s.config.circulation.notices.available_template;
    notify(s, openid, key, text, Fallback { template, roles: AVAILABLE_ROLES, values: &values, url: &url }).await
}
