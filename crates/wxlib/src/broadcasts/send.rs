//! The send job. Each step leaves the database saying what is done, so any node can pick the job
//! up after a crash and go on from there:
//!
//! 1. `queued → uploading`: the cover goes up as a permanent image material, the body's images
//!    through `media/uploadimg` (each remembered once uploaded).
//! 2. `uploading → sending`: the recipients are fetched from WeChat (`user/get`, or `user/tag/get`
//!    for a tag) and frozen with their batches in one transaction; their number is the
//!    "followers at send time" the read rate divides by.
//! 3. each batch: a draft (`draft/add`; WeChat consumes a draft once it is mass-sent, so every
//!    batch has its own), then `mass/send` to the batch's openids with `clientmsgid`
//!    `wxlib-bc-<id>-<batch>`; the answer is recorded with the batch. 45065/45066 mean WeChat
//!    already took this batch (our earlier call went through but we died before recording it):
//!    it is recorded as sent. A batch of one openid (which `mass/send` refuses) goes by
//!    `sendall` with the same filter the recipients came from, and so does the whole message
//!    with `broadcasts.send_by = "sendall"` (subscription accounts): one batch, one call.
//! 4. the last batch recorded moves the message to `sent`.
//!
//! One node runs a job at a time (a lease per message). Transient failures (network, WeChat
//! busy) leave the job where it is for the next round; WeChat refusing the content or the quota
//! moves it to `failed` with the reason, and the console can send it again (it resumes).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::BroadcastError;
use super::store::{Batch, Broadcast};
use crate::services::Services;
use crate::wechat::api::ApiError;

static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// How often the worker looks for work it was not woken for (jobs left by a crash, other nodes).
const POLL: Duration = Duration::from_secs(1);
/// Short, and renewed every second while the job runs ([`crate::jobs::HeldLease`]) and before
/// every send call, so a job whose node died is taken over within about 5 s (the lease, then
/// [`POLL`]; issue 18: with a 15 s lease renewed only between batches a survivor finished a
/// killed node's send after ~22 s). Two nodes overlapping on a batch is still safe: WeChat knows
/// the clientmsgid.
const LEASE_SECS: i64 = 3;

/// Wakes the send worker (after a message was queued).
pub fn wake() {
    WAKE.notify_one();
}

/// Runs forever: resumes unfinished sends at start, then every one that is queued.
pub async fn worker(s: Services) {
    // Jobs that hit a transient error (WeChat busy, network) wait longer each time, up to 5
    // minutes, so an outage is not hammered every two seconds.
    let backoff: Mutex<HashMap<i64, (Instant, u32)>> = Mutex::default();
    let (s, backoff) = (&s, &backoff);
    crate::jobs::forever("broadcast queue", crate::jobs::Pause::every(POLL).or_when(&WAKE), move || async move {
        let ids = s.db.active_broadcasts().await?;
        lock(backoff).retain(|id, _| ids.contains(id));
        for id in ids {
            if lock(backoff).get(&id).is_some_and(|(next, _)| *next > Instant::now()) {
                continue;
            }
            match run_job(s, id).await {
                Ok(()) => {
                    lock(backoff).remove(&id);
                }
                Err(e) => {
                    let mut backoff = lock(backoff);
                    let failures = backoff.get(&id).map_or(0, |(_, n)| *n) + 1;
                    let wait = Duration::from_secs((1u64 << failures.min(9)).min(300));
                    tracing::warn!(broadcast = id, error = %e, retry_in_secs = wait.as_secs(), "broadcast send paused; will retry");
                    backoff.insert(id, (Instant::now() + wait, failures));
                }
            }
        }
        Ok::<_, crate::db::DbError>(crate::jobs::Next::Pause)
    })
    .await
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn node_id() -> &'static str {
    static ID: LazyLock<String> = LazyLock::new(|| format!("bc-{:016x}", rand::random::<u64>()));
    &ID
}

/// Whether an error is WeChat refusing the message itself (not worth retrying on its own).
fn is_permanent(e: &BroadcastError) -> bool {
    match e {
        BroadcastError::Api(ApiError::WeChat { errcode, .. }) => !matches!(*errcode, -1 | 45009 | 45011),
        BroadcastError::Api(ApiError::BadAnswer { .. }) | BroadcastError::Invalid(_) | BroadcastError::NotFound => true,
        _ => false,
    }
}

/// Takes the job's lease and advances it as far as it goes.
pub async fn run_job(s: &Services, id: i64) -> Result<(), BroadcastError> {
    let lease = format!("broadcast:{id}");
    if !s.db.try_lease(&lease, node_id(), LEASE_SECS, crate::db::unix_now()).await? {
        return Ok(());
    }
    let held = crate::jobs::HeldLease::keep(&s.db, &lease, node_id(), LEASE_SECS);
    let result = advance(s, id, &lease, &held).await;
    drop(held);
    let _ = s.db.release_lease(&lease, node_id()).await;
    match result {
        Err(e) if is_permanent(&e) => {
            tracing::error!(broadcast = id, error = %e, "broadcast send failed");
            s.db.set_broadcast_state(id, "failed", Some(&e.to_string()), s.clock.now()).await?;
            crate::console::audit_system(&s.db, "broadcast.failed", &format!("#{id}: {e}")).await?;
            Ok(())
        }
        other => other,
    }
}

async fn advance(s: &Services, id: i64, lease: &str, held: &crate::jobs::HeldLease) -> Result<(), BroadcastError> {
    let b = s.db.broadcast(id).await?.ok_or(BroadcastError::NotFound)?;
    if b.state == "queued" || b.state == "uploading" {
        s.db.set_broadcast_state(id, "uploading", None, s.clock.now()).await?;
        upload_media(s, &b).await?;
        let recipients = match b.target_tag_id {
            None => follower_openids(s, None).await?,
            Some(tag) => follower_openids(s, Some(tag)).await?,
        };
        let local = s.db.count_followers().await?;
        let sizes = if s.config.broadcasts.send_by == "sendall" {
            // One call reaches everyone: a single "batch" of all recipients.
            if recipients.is_empty() { Vec::new() } else { vec![recipients.len()] }
        } else {
            batch_sizes(recipients.len(), s.config.broadcasts.batch_size)
        };
        s.db.freeze_recipients(id, &recipients, &sizes, local, s.clock.now()).await?;
        tracing::info!(broadcast = id, recipients = recipients.len(), batches = sizes.len(), "broadcast recipients frozen");
    }
    let b = s.db.broadcast(id).await?.ok_or(BroadcastError::NotFound)?;
    if b.state != "sending" {
        return Ok(());
    }
    // The media may be missing if this job was started by an older run that died mid-upload.
    let b = upload_media(s, &b).await?;
    for batch in s.db.broadcast_batches(id).await? {
        if batch.state == "sent" {
            continue;
        }
        if held.lost() || !s.db.try_lease(lease, node_id(), LEASE_SECS, crate::db::unix_now()).await? {
            // Another node took over (we were too slow): it goes on from here.
            return Ok(());
        }
        send_batch(s, &b, &batch).await?;
    }
    Ok(())
}

/// Splits `n` recipients into batches of about `size` (WeChat: 2–10 000 openids a call), none
/// with a single openid unless there is only one recipient.
pub fn batch_sizes(n: usize, size: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let size = size.clamp(2, super::WECHAT_BATCH_MAX);
    let k = n.div_ceil(size).min((n / 2).max(1));
    let (base, extra) = (n / k, n % k);
    (0..k).map(|i| base + usize::from(i < extra)).collect()
}

/// Uploads what is not uploaded yet: the cover (permanent image material) and the body's
/// images (`media/uploadimg`). Returns the message as stored after.
async fn upload_media(s: &Services, b: &Broadcast) -> Result<Broadcast, BroadcastError> {
    if b.cover_media_id.is_none() {
        let cover = s.db.broadcast_cover(b.id).await?.ok_or_else(|| BroadcastError::Invalid("the message has no cover image".into()))?;
        let v = upload(s, "/cgi-bin/material/add_material?type=image", "material/add_material", &cover).await?;
        let media_id = v.get("media_id").and_then(Value::as_str).ok_or_else(|| bad("material/add_material", "no media_id"))?;
        s.db.set_cover_material(b.id, media_id, v.get("url").and_then(Value::as_str)).await?;
    }
    for (img_id, url) in s.db.broadcast_images(b.id).await? {
        if url.is_none() && b.body_html.contains(&format!("/news/img/{img_id}\"")) {
            let img = s.db.broadcast_image(img_id).await?.ok_or(BroadcastError::NotFound)?;
            let v = upload(s, "/cgi-bin/media/uploadimg", "media/uploadimg", &img).await?;
            let url = v.get("url").and_then(Value::as_str).ok_or_else(|| bad("media/uploadimg", "no url"))?;
            s.db.set_image_wechat_url(img_id, url).await?;
        }
    }
    s.db.broadcast(b.id).await?.ok_or(BroadcastError::NotFound)
}

fn bad(endpoint: &str, reason: &str) -> BroadcastError {
    BroadcastError::Api(ApiError::BadAnswer { endpoint: endpoint.into(), reason: reason.into() })
}

/// A multipart upload (`media` field) with the access token; WeChat's JSON answer.
async fn upload(s: &Services, path: &str, endpoint: &str, img: &super::Image) -> Result<Value, BroadcastError> {
    static HTTP: LazyLock<reqwest::Client> =
        LazyLock::new(|| reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap_or_default());
    let token = s.api.access_token().await?;
    let boundary = format!("----wxlib{:016x}", rand::random::<u64>());
    let ext = if img.content_type == "image/png" { "png" } else { "jpg" };
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"image.{ext}\"\r\nContent-Type: {}\r\n\r\n",
        img.content_type
    )
    .into_bytes();
    body.extend_from_slice(&img.bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = format!("{}{path}{sep}access_token={token}", s.config.wechat.api_base.trim_end_matches('/'));
    let http_err = |source| BroadcastError::Api(ApiError::Http { endpoint: endpoint.into(), source });
    let resp = HTTP
        .post(url)
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .map_err(http_err)?;
    let text = resp.text().await.map_err(http_err)?;
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(endpoint, &e.to_string()))?;
    match v.get("errcode").and_then(Value::as_i64) {
        Some(code) if code != 0 => Err(BroadcastError::Api(ApiError::WeChat {
            endpoint: endpoint.into(),
            errcode: code,
            errmsg: v.get("errmsg").and_then(Value::as_str).unwrap_or_default().to_owned(),
        })),
        _ => Ok(v),
    }
}

/// Every subscribed follower's openid from WeChat, or a tag's members: `user/get` /
/// `user/tag/get`, 10 000 a page.
async fn follower_openids(s: &Services, tag: Option<i64>) -> Result<Vec<String>, BroadcastError> {
    let mut all = Vec::new();
    let mut next = String::new();
    loop {
        let v = match tag {
            None => {
                let path = format!("/cgi-bin/user/get?next_openid={}", crate::web::urlencode(&next));
                s.api.call("user/get", &path, None).await?
            }
            Some(t) => s.api.call("user/tag/get", "/cgi-bin/user/tag/get", Some(&json!({"tagid": t, "next_openid": next}))).await?,
        };
        let page: Vec<String> = v
            .get("data")
            .and_then(|d| d.get("openid"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        if page.is_empty() {
            break;
        }
        all.extend(page);
        next = v.get("next_openid").and_then(Value::as_str).unwrap_or_default().to_owned();
        if next.is_empty() {
            break;
        }
    }
    let mut seen = std::collections::HashSet::new();
    all.retain(|o| seen.insert(o.clone()));
    Ok(all)
}

/// The article as WeChat's draft wants it: body images pointing at WeChat's copies, and
/// "阅读原文" leading to wxlib's page, where readers are counted.
pub(crate) async fn wechat_article(s: &Services, b: &Broadcast) -> Result<Value, BroadcastError> {
    let mut content = b.body_html.clone();
    for (img_id, url) in s.db.broadcast_images(b.id).await? {
        if let Some(url) = url {
            content = content.replace(&format!("src=\"/news/img/{img_id}\""), &format!("src=\"{}\"", crate::web::escape(&url)));
        }
    }
    let thumb = b.cover_media_id.clone().ok_or_else(|| BroadcastError::Invalid("the cover is not uploaded".into()))?;
    Ok(json!({
        "title": b.title,
        "author": b.author,
        "digest": b.digest,
        "content": content,
        "content_source_url": format!("{}/news/{}", s.config.server.public_url, b.id),
        "thumb_media_id": thumb,
        "need_open_comment": 0,
        "only_fans_can_comment": 0,
    }))
}

async fn add_draft(s: &Services, b: &Broadcast) -> Result<String, BroadcastError> {
    let article = wechat_article(s, b).await?;
    let v = s.api.call("draft/add", "/cgi-bin/draft/add", Some(&json!({"articles": [article]}))).await?;
    Ok(v.get("media_id").and_then(Value::as_str).ok_or_else(|| bad("draft/add", "no media_id"))?.to_owned())
}

/// The deterministic idempotency key of one batch of one message.
pub fn clientmsgid(id: i64, batch_no: i64) -> String {
    format!("wxlib-bc-{id}-{batch_no}")
}

async fn send_batch(s: &Services, b: &Broadcast, batch: &Batch) -> Result<(), BroadcastError> {
    let media_id = match &batch.draft_media_id {
        Some(m) => m.clone(),
        None => {
            let m = add_draft(s, b).await?;
            s.db.set_batch_draft(b.id, batch.batch_no, Some(&m)).await?;
            m
        }
    };
    let openids = s.db.batch_recipients(b.id, batch.first_seq, batch.last_seq).await?;
    let cid = clientmsgid(b.id, batch.batch_no);
    let by_openid = openids.len() >= 2 && s.config.broadcasts.send_by != "sendall";
    let (endpoint, path, body) = if by_openid {
        (
            "message/mass/send",
            "/cgi-bin/message/mass/send",
            json!({"touser": openids, "msgtype": "mpnews", "mpnews": {"media_id": media_id}, "send_ignore_reprint": 0, "clientmsgid": cid}),
        )
    } else {
        let filter = match b.target_tag_id {
            None => json!({"is_to_all": true}),
            Some(t) => json!({"is_to_all": false, "tag_id": t}),
        };
        (
            "message/mass/sendall",
            "/cgi-bin/message/mass/sendall",
            json!({"filter": filter, "msgtype": "mpnews", "mpnews": {"media_id": media_id}, "send_ignore_reprint": 0, "clientmsgid": cid}),
        )
    };
    let mut msg_data_id = None;
    let msg_id = match s.api.call(endpoint, path, Some(&body)).await {
        Ok(v) => {
            msg_data_id = v.get("msg_data_id").and_then(Value::as_i64);
            v.get("msg_id").and_then(Value::as_i64)
        }
        Err(ApiError::WeChat { errcode: 45065 | 45066, .. }) => {
            // WeChat already has this batch: an earlier call went through and we did not live
            // to record it. Nobody gets it twice; the msg id is in WeChat's records.
            tracing::info!(broadcast = b.id, batch = batch.batch_no, "batch already sent (clientmsgid known to WeChat)");
            None
        }
        Err(ApiError::WeChat { errcode: 40007, .. }) => {
            // The draft is gone (deleted in WeChat's admin page): make a new one next round.
            s.db.set_batch_draft(b.id, batch.batch_no, None).await?;
            return Err(BroadcastError::Api(ApiError::WeChat {
                endpoint: "draft".into(),
                errcode: -1,
                errmsg: "draft missing; recreating".into(),
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let finished = s.db.mark_batch_sent(b.id, batch.batch_no, msg_id, s.clock.now()).await?;
    if let Some(data_id) = msg_data_id {
        // How WeChat's analytics name the article (datacube); see `figures`.
        s.db.set_batch_msg_data_id(b.id, batch.batch_no, data_id).await?;
    }
    tracing::info!(broadcast = b.id, batch = batch.batch_no, recipients = openids.len(), msg_id, "broadcast batch sent");
    if finished {
        tracing::info!(broadcast = b.id, "broadcast sent");
        let detail = format!("#{} {} to {} followers", b.id, b.title, b.followers_at_send.unwrap_or(0));
        audit_system_quiet(&s.db, "broadcast.sent", &detail).await;
    }
    Ok(())
}

/// An audit entry by the system; a failure to write it is logged, not fatal (the send itself is
/// already recorded).
async fn audit_system_quiet(db: &crate::db::Db, action: &str, detail: &str) {
    if let Err(e) = crate::console::audit_system(db, action, detail).await {
        tracing::warn!(error = %e, action, "could not write the audit entry");
    }
}

/// Sends the message as a preview to chosen readers (`mass/preview`, no quota used): uploads the
/// media, makes a draft, previews, and deletes the draft.
pub async fn preview(s: &Services, id: i64, openids: &[String]) -> Result<usize, BroadcastError> {
    let b = s.db.broadcast(id).await?.ok_or(BroadcastError::NotFound)?;
    let b = upload_media(s, &b).await?;
    let media_id = add_draft(s, &b).await?;
    let mut sent = 0;
    let mut first_err = None;
    for o in openids {
        let body = json!({"touser": o, "msgtype": "mpnews", "mpnews": {"media_id": media_id}});
        match s.api.call("message/mass/preview", "/cgi-bin/message/mass/preview", Some(&body)).await {
            Ok(_) => sent += 1,
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let _ = s.api.call("draft/delete", "/cgi-bin/draft/delete", Some(&json!({"media_id": media_id}))).await;
    match first_err {
        Some(e) if sent == 0 => Err(e.into()),
        _ => Ok(sent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_never_hold_one_openid() {
        assert_eq!(batch_sizes(0, 5), Vec::<usize>::new());
        assert_eq!(batch_sizes(1, 5), vec![1]);
        assert_eq!(batch_sizes(23, 5), vec![5, 5, 5, 4, 4]);
        assert_eq!(batch_sizes(3, 2), vec![3]);
        assert_eq!(batch_sizes(11, 10), vec![6, 5]);
        assert_eq!(batch_sizes(20_001, 10_000), vec![6667, 6667, 6667]);
        assert!(batch_sizes(100_000, 10_000).iter().all(|&n| (2..=10_000).contains(&n)));
    }
}
