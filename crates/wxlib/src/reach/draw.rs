//! The Reading Day lucky draw, auditable by anyone. When a librarian creates a draw, wxlib picks
//! a secret seed and publishes its commitment `SHA-256(seed)` at once on `/draws/{id}`, before
//! the entries freeze. At the deadline the entries freeze: one per reader with a bound card, plus
//! one for the referrer per referred reader who bound. The winners follow from the seed and the
//! frozen list by [`pick_winners`] (the page states the algorithm); then the seed is published so
//! anyone can check `SHA-256(seed)` = the commitment and recompute the winners. Entries are
//! pseudonyms (a hash of the commitment and the openid), so the page names no reader; winners are
//! told in chat.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::ReachError;
use crate::db::DbError;
use crate::services::Services;
use crate::web::error::WebError;
use crate::web::escape;

/// The algorithm, as published on every draw page.
pub const ALGORITHM: &str = "commitment = hex(SHA-256(seed)), seed being 64 hex characters. \
Entries are sorted by byte value; D = hex(SHA-256(entries joined by \"\\n\")). \
remaining = entries; for i = 0, 1, … while fewer than k winners and remaining is not empty: \
h = SHA-256(seed + \":\" + D + \":\" + i) with i in decimal; n = the first 8 bytes of h as a big-endian unsigned integer; \
the winning entry is remaining[n mod len(remaining)]; its person is the part before the first \":\"; \
every entry of that person leaves remaining (one prize per person).";

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A reader's pseudonym in one draw.
pub fn pseudonym(commitment: &str, openid: &str) -> String {
    sha256_hex(&format!("{commitment}:{openid}"))[..16].to_owned()
}

/// The digest of the (sorted) entry list.
pub fn entries_digest(sorted: &[String]) -> String {
    sha256_hex(&sorted.join("\n"))
}

/// The winning entries, in order, from the seed and the entry list (see [`ALGORITHM`]).
pub fn pick_winners(seed: &str, entries: &[String], k: usize) -> Vec<String> {
    let mut remaining: Vec<String> = entries.to_vec();
    remaining.sort();
    let digest = entries_digest(&remaining);
    let mut winners = Vec::new();
    let mut i = 0u64;
    while winners.len() < k && !remaining.is_empty() {
        let h = Sha256::digest(format!("{seed}:{digest}:{i}").as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&h[..8]);
        let n = u64::from_be_bytes(first);
        let pick = remaining[(n % remaining.len() as u64) as usize].clone();
        let person = pick.split(':').next().unwrap_or("").to_owned();
        remaining.retain(|e| e.split(':').next() != Some(person.as_str()));
        winners.push(pick);
        i += 1;
    }
    winners
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Draw {
    pub id: i64,
    pub title: String,
    pub seed: String,
    pub commitment: String,
    pub committed_at: i64,
    pub freeze_at: i64,
    pub winners: i64,
    pub drawn_at: Option<i64>,
}

/// What `/draws/{id}.json` publishes: never the seed before the draw.
#[derive(Debug, Serialize)]
pub struct PublicDraw {
    pub id: i64,
    pub title: String,
    pub commitment: String,
    pub committed_at: i64,
    pub freeze_at: i64,
    pub winners_wanted: i64,
    pub drawn_at: Option<i64>,
    pub seed: Option<String>,
    pub entries: Vec<String>,
    pub entries_digest: Option<String>,
    pub winners: Vec<String>,
    pub algorithm: &'static str,
}

/// Creates a draw and publishes its commitment now. `freeze_at` must lie in the future.
pub async fn create_draw(s: &Services, title: &str, freeze_at: i64, winners: i64) -> Result<i64, ReachError> {
    let now = s.clock.now();
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 60 {
        return Err(ReachError::Invalid("抽奖名称必填，最多 60 字 / The title is required, at most 60 characters".into()));
    }
    if freeze_at <= now {
        return Err(ReachError::Invalid("截止时间必须在将来 / The deadline must be in the future".into()));
    }
    if !(1..=1000).contains(&winners) {
        return Err(ReachError::Invalid("中奖人数应为 1–1000 / Winners must be 1–1000".into()));
    }
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut b);
    let seed = hex::encode(b);
    let commitment = sha256_hex(&seed);
    Ok(s.db.insert_draw(title, &seed, &commitment, now, freeze_at, winners).await?)
}

/// Freezes the entries, picks the winners, publishes the seed and tells the winners in chat.
/// Only once, and only after the deadline. Returns the winners' openids.
pub async fn run_draw(s: &Services, id: i64) -> Result<Vec<String>, ReachError> {
    let now = s.clock.now();
    let d = s.db.draw(id).await?.ok_or_else(|| ReachError::Invalid("没有这个抽奖 / No such draw".into()))?;
    if d.drawn_at.is_some() {
        return Err(ReachError::Invalid("已经开过奖了 / This draw has already been drawn".into()));
    }
    if now < d.freeze_at {
        return Err(ReachError::Invalid("报名尚未截止，不能开奖 / Entries have not frozen yet".into()));
    }
    // Entries as of the deadline: bound by then (a card bound later does not count).
    let bound = s.db.bound_by(d.freeze_at).await?;
    let mut entries: Vec<(String, String)> = bound.into_iter().map(|o| (format!("{}:self", pseudonym(&d.commitment, &o)), o)).collect();
    for (referrer, referred) in s.db.referred_binders(d.freeze_at).await? {
        entries.push((format!("{}:ref:{}", pseudonym(&d.commitment, &referrer), pseudonym(&d.commitment, &referred)), referrer));
    }
    entries.sort();
    entries.dedup_by(|a, b| a.0 == b.0);
    let list: Vec<String> = entries.iter().map(|(e, _)| e.clone()).collect();
    let winning = pick_winners(&d.seed, &list, d.winners as usize);
    let owner = |e: &str| entries.iter().find(|(x, _)| x == e).map(|(_, o)| o.clone()).unwrap_or_default();
    let winners: Vec<(String, String)> = winning.iter().map(|e| (e.clone(), owner(e))).collect();
    if !s.db.record_draw(id, now, &entries, &winners).await? {
        return Err(ReachError::Invalid("已经开过奖了 / This draw has already been drawn".into()));
    }
    let page = format!("{}/draws/{id}", s.config.server.public_url.trim_end_matches('/'));
    let mut openids = Vec::new();
    for e in &winning {
        let o = owner(e);
        let text = match s.lang {
            crate::lang::Lang::Zh => format!("恭喜！您在“{}”中中奖了。请凭一卡通到图书馆总服务台领奖。\n抽奖过程公开可查：{page}", d.title),
            crate::lang::Lang::En => format!(
                "Congratulations! You won in \"{}\". Collect your prize at the library's front desk with your card.\nAnyone can check the draw: {page}",
                d.title
            ),
        };
        if let Err(err) = s.push(&o, &wechat::Reply::text(text), &format!("draw:{id}:{o}")).await {
            tracing::warn!(error = %err, "could not queue a winner's notice");
        }
        openids.push(o);
    }
    Ok(openids)
}

async fn public_draw(s: &Services, id: i64) -> Result<Option<PublicDraw>, DbError> {
    let Some(d) = s.db.draw(id).await? else { return Ok(None) };
    let drawn = d.drawn_at.is_some();
    let (entries, winners) = if drawn { s.db.draw_results(id).await? } else { (Vec::new(), Vec::new()) };
    let entries: Vec<String> = entries.into_iter().map(|(e, _)| e).collect();
    Ok(Some(PublicDraw {
        id: d.id,
        title: d.title,
        commitment: d.commitment,
        committed_at: d.committed_at,
        freeze_at: d.freeze_at,
        winners_wanted: d.winners,
        drawn_at: d.drawn_at,
        seed: drawn.then_some(d.seed),
        entries_digest: drawn.then(|| entries_digest(&entries)),
        entries,
        winners: winners.into_iter().map(|(e, _)| e).collect(),
        algorithm: ALGORITHM,
    }))
}

fn utc(t: i64) -> String {
    format!("{} (unix {t})", crate::clock::local_day(t))
}

async fn draw_page(State(s): State<Services>, Path(id): Path<String>) -> Result<Response, WebError> {
    let (id, json) = match id.strip_suffix(".json") {
        Some(n) => (n.parse::<i64>(), true),
        None => (id.parse::<i64>(), false),
    };
    let Ok(id) = id else { return Err(WebError::text(StatusCode::NOT_FOUND, "no such draw")) };
    let d = match public_draw(&s, id).await {
        Ok(Some(d)) => d,
        Ok(None) => return Err(WebError::text(StatusCode::NOT_FOUND, "没有这个抽奖 / no such draw")),
        Err(e) => {
            return Err(WebError::text(StatusCode::INTERNAL_SERVER_ERROR, "系统出错了 / something went wrong").because("draw page", e));
        }
    };
    if json {
        return Ok(Json(d).into_response());
    }
    let mut body = format!(
        "<h1>{}</h1><p>承诺值 Commitment (SHA-256 of the seed): <code id=\"commitment\">{}</code><br>公布于 Published: {}<br>报名截止 Entries freeze: {}</p>",
        escape(&d.title),
        d.commitment,
        utc(d.committed_at),
        utc(d.freeze_at)
    );
    match &d.seed {
        None => body.push_str("<p>尚未开奖：种子在开奖后公布。 Not drawn yet: the seed is published after the draw.</p>"),
        Some(seed) => {
            body.push_str(&format!(
                "<p>种子 Seed: <code id=\"seed\">{seed}</code><br>条目摘要 Entries digest: <code>{}</code></p>",
                d.entries_digest.clone().unwrap_or_default()
            ));
            let w: String = d.winners.iter().map(|e| format!("<li>{}</li>", escape(e))).collect();
            body.push_str(&format!("<h2>中奖 Winners</h2><ol id=\"winners\">{w}</ol>"));
            let e: String = d.entries.iter().map(|e| format!("<li>{}</li>", escape(e))).collect();
            body.push_str(&format!("<h2>全部条目 Entries ({})</h2><ol id=\"entries\">{e}</ol>", d.entries.len()));
        }
    }
    body.push_str(&format!("<h2>算法 Algorithm</h2><p>{}</p><p><a href=\"/draws/{id}.json\">JSON</a></p>", escape(ALGORITHM)));
    Ok(Html(format!("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title></head><body style=\"font-family:sans-serif;max-width:760px;margin:auto;padding:12px;word-break:break-all\">{body}</body></html>", escape(&d.title))).into_response())
}

/// Public routes: `/draws/{id}` (page) and `/draws/{id}.json`.
pub fn routes(s: Services) -> axum::Router {
    axum::Router::new().route("/draws/{id}", get(draw_page)).with_state(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_prize_per_person_and_every_input_matters() {
        let entries: Vec<String> = ["aa:self", "aa:ref:bb", "bb:self", "cc:self", "dd:self"].iter().map(|s| s.to_string()).collect();
        let w = pick_winners("00", &entries, 10);
        assert_eq!(w.len(), 4, "four people, four prizes: {w:?}");
        let people: std::collections::BTreeSet<_> = w.iter().map(|e| e.split(':').next().unwrap()).collect();
        assert_eq!(people.len(), 4);
        // Order of input does not matter; the seed does.
        let mut rev = entries.clone();
        rev.reverse();
        assert_eq!(pick_winners("00", &rev, 2), pick_winners("00", &entries, 2));
    }
}
