//! Reach: where followers come from and what they do next. A librarian creates a **channel** per
//! poster location or medium, each with a permanent parametric QR code (scene `ch_…`) and a
//! printable A4 poster ([`poster`]); a bound reader gets a personal **referral** code (scene
//! `ref_…`). Attribution needs no extra log: the event log already holds every `SCAN` (scene in
//! `EventKey`) and `subscribe` (`qrscene_<scene>`), so the funnel per scene is read from it, the
//! bindings and the search log. [`draw`] runs the auditable Reading Day lucky draw; [`console`]
//! shows channels, draws and the analytics charts.

pub mod console;
pub mod draw;
pub mod poster;
pub mod referral_web;
pub mod store;

use std::sync::Arc;

use rand::RngCore;
use wechat::{Inbound, Reply};

use crate::db::DbError;
use crate::lang::Lang;
use crate::services::Services;
use crate::wechat::router::{HandlerError, Responded};

/// Scene prefix of channel (poster) codes; those scenes only count for attribution.
pub const CHANNEL_PREFIX: &str = "ch_";
/// Scene prefix of readers' personal referral codes.
pub const REFERRAL_PREFIX: &str = "ref_";
/// An unfollow this soon after the follow counts as "lost within 7 days" in the funnel.
pub const EARLY_UNFOLLOW_SECS: i64 = 7 * crate::clock::DAY_SECS;

#[derive(Debug, thiserror::Error)]
pub enum ReachError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Api(#[from] crate::wechat::api::ApiError),
    #[error("poster: {0}")]
    Poster(String),
    #[error("poster: {0}")]
    PosterFile(#[source] std::io::Error),
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    pub caption: String,
    pub scene: String,
    pub ticket: String,
    pub url: String,
    pub created_at: i64,
}

/// The funnel of one scene: scans by followers, follows, then what those followers did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Funnel {
    /// `SCAN` events: people who already followed scanning the code (counted apart).
    pub scans: i64,
    /// Distinct readers who followed through the code.
    pub follows: i64,
    /// …of whom bound a library card.
    pub bound: i64,
    /// …of whom searched the catalog or renewed.
    pub active: i64,
    /// …of whom unfollowed within 7 days of following.
    pub lost_7d: i64,
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Creates a channel with its permanent QR code. The name and caption are what the poster shows.
pub async fn create_channel(s: &Services, name: &str, caption: &str) -> Result<Channel, ReachError> {
    let (name, caption) = (name.trim(), caption.trim());
    if name.is_empty() || name.chars().count() > 40 {
        return Err(ReachError::Invalid("渠道名称必填，最多 40 字 / The name is required, at most 40 characters".into()));
    }
    if caption.chars().count() > 60 {
        return Err(ReachError::Invalid("海报说明最多 60 字 / The caption is at most 60 characters".into()));
    }
    // A random scene, not the row id: codes survive a database restore and cannot be guessed.
    let scene = format!("{CHANNEL_PREFIX}{}", random_hex(6));
    let (ticket, url) = s.api.create_permanent_qr(&scene).await?;
    let id = s.db.insert_channel(name, caption, &scene, &ticket, &url, s.clock.now()).await?;
    s.db.channel(id).await?.ok_or_else(|| ReachError::Invalid("channel vanished".into()))
}

/// The address of a code's QR image (WeChat's `showqrcode`).
pub fn qr_image_url(s: &Services, ticket: &str) -> String {
    let t: String = ticket
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!("{}?ticket={t}", s.config.activities.showqrcode_url)
}

/// "推荐码" / "my referral": a bound reader's personal code (created on first ask).
pub async fn referral(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let zh = s.lang == Lang::Zh;
    if s.db.binding(&m.from_user).await?.is_none() {
        return Ok(Reply::text(if zh {
            "绑定一卡通后即可获得您的专属推荐码：点击菜单“借阅信息”→“绑定”。"
        } else {
            "Bind your campus card first to get your personal referral code (menu \"My loans\" → \"Bind\")."
        }));
    }
    let (ticket, url) = match s.db.referral_of(&m.from_user).await? {
        Some((_, ticket, url)) => (ticket, url),
        None => {
            let scene = format!("{REFERRAL_PREFIX}{}", random_hex(6));
            let (ticket, url) = s.api.create_permanent_qr(&scene).await?;
            s.db.insert_referral(&m.from_user, &scene, &ticket, &url, s.clock.now()).await?;
            // A concurrent ask may have won; the stored code is the reader's.
            match s.db.referral_of(&m.from_user).await? {
                Some((_, t, u)) => (t, u),
                None => (ticket, url),
            }
        }
    };
    let image = qr_image_url(&s, &ticket);
    let scene = s.db.referral_of(&m.from_user).await?.map(|(scene, _, _)| scene).unwrap_or_default();
    let poster = format!("{}/ref/{scene}/poster.pdf", s.config.server.public_url.trim_end_matches('/'));
    Ok(Reply::text(if zh {
        format!(
            "您的专属推荐码：\n{image}\n\n把二维码分享给同学，他们扫码关注并绑定一卡通后，您在读书节抽奖中多一次机会。\n可打印的海报：{poster}\n链接：{url}"
        )
    } else {
        format!(
            "Your personal referral code:\n{image}\n\nShare it: each friend who follows through it and binds a card gives you one more entry in the Reading Day draw.\nA poster to print: {poster}\nLink: {url}"
        )
    }))
}

/// Text commands of this module.
pub async fn on_text(s: &Services, m: &Arc<Inbound>, text: &str) -> Responded {
    match text.trim().to_lowercase().as_str() {
        "推荐码" | "我的推荐码" | "referral" | "my referral" => referral(s.clone(), m.clone()).await.map(Some),
        _ => Ok(None),
    }
}

/// A follow or scan through someone's referral code: a word of thanks naming no one.
pub async fn referral_scene(s: Services, _m: Arc<Inbound>, _rest: String) -> Result<Reply, HandlerError> {
    Ok(Reply::text(if s.lang == Lang::Zh {
        "你是通过同学的推荐码来的。绑定一卡通后，你和推荐人都能参加读书节抽奖。"
    } else {
        "A friend's referral code brought you here. Bind your campus card and both of you enter the Reading Day draw."
    }))
}
