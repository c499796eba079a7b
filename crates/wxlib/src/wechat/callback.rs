//! The callback endpoint `/wechat`: WeChat's URL check (GET) and message delivery (POST).
//!
//! POST pipeline: verify `signature` over the raw query → check the timestamp window → check the
//! message mode (in safe mode a plain callback is refused) → (encrypted) verify `msg_signature`
//! and decrypt → parse → claim the dedupe key → run the handler under the
//! reply deadline → render, encrypt, answer. Every rejection is a 4xx with a one-line reason in
//! the log and in the body, and never a panic. A handler still running at the deadline keeps
//! running; the reader gets its answer through the outbox.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use wechat::crypto::CryptoError;
use wechat::{Event, Inbound, InboundKind, MessageCrypto, Reply, signature};

use super::followers::{EVENT_WINDOW_QUOTA, EVENT_WINDOW_SECS, MESSAGE_WINDOW_QUOTA, MESSAGE_WINDOW_SECS};
use super::journal::{Begin, Claim, Finish, FollowChange, Journal, JournalError, Record};
use super::outbox::Outbox;
use super::router::Router;
use crate::clock::unix_now;
use crate::config::{Config, MessageMode};
use crate::lang::{self, Lang};
use crate::web::error::Chain;

/// How long a claim holds without being renewed. The owner renews it every [`RENEW_EVERY`]
/// while its handler runs — past the reply deadline too, until the late answer is in the outbox
/// — so a live owner keeps its claim however long the handler takes, and the claim of a node
/// that died (SIGKILL, a crash) runs out within 2–3 s (leases are whole seconds): WeChat's retry,
/// on another node behind the load balancer, then takes the callback over and answers it itself
/// instead of waiting for a claimant that is gone (issue 18: with an 8 s lease the retry waited
/// to its own deadline and answered `success`, and the reader got nothing).
pub const CLAIM_LEASE_SECS: i64 = 2;

/// How often a running callback's owner renews its claim: a handler that answers within this
/// (nearly all do) never renews at all.
const RENEW_EVERY: Duration = Duration::from_millis(500);

/// What the callback needs: the account's configuration, the journal, the outbox (for answers
/// that miss the deadline), the language of the apology, the keys, the conversation (`router`)
/// and the context its handlers get with each message (the app's `Services`).
pub struct CallbackState<S> {
    pub config: Arc<Config>,
    pub journal: Journal,
    pub outbox: Outbox,
    pub lang: Lang,
    pub crypto: Option<Arc<MessageCrypto>>,
    pub router: Arc<Router<S>>,
    pub context: S,
}

/// `GET` and `POST /wechat`, with WeChat's bodies limited to `server.max_body_bytes`.
pub fn routes<S: Clone + Send + Sync + 'static>(state: Arc<CallbackState<S>>) -> axum::Router {
    let limit = state.config.server.max_body_bytes;
    axum::Router::new()
        .route("/wechat", axum::routing::get(verify_url::<S>).post(receive::<S>))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The callback's query parameters. Read by hand from the raw query (`RawQuery`) rather than
/// through serde: on the hot path the generic deserializer with axum's error-path tracking cost
/// several percent of the whole round trip (BENCHMARKS.md, run E). Unknown parameters (WeChat
/// also sends `openid`) are ignored; a repeated one keeps its first value.
#[derive(Debug, Default)]
pub struct CallbackQuery {
    signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
    echostr: Option<String>,
    encrypt_type: Option<String>,
    msg_signature: Option<String>,
}

impl CallbackQuery {
    pub fn parse(raw: Option<&str>) -> Self {
        let mut q = Self::default();
        for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match form_decode(name).as_ref() {
                "signature" => &mut q.signature,
                "timestamp" => &mut q.timestamp,
                "nonce" => &mut q.nonce,
                "echostr" => &mut q.echostr,
                "encrypt_type" => &mut q.encrypt_type,
                "msg_signature" => &mut q.msg_signature,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(form_decode(value).into_owned());
            }
        }
        q
    }
}

/// Decodes one `application/x-www-form-urlencoded` name or value. WeChat's are plain letters
/// and digits, taken as they are; only one with `%` or `+` goes through the decoder (which
/// replaces bad UTF-8, as `form_urlencoded::parse` does).
fn form_decode(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return s.into();
    }
    let pair = format!("_={s}");
    form_urlencoded::parse(pair.as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default().into()
}

/// Why a callback was refused. Each maps to a status and a log line.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("missing query parameter {0}")]
    MissingParam(&'static str),
    #[error("bad signature")]
    BadSignature,
    #[error("timestamp {0} is outside the accepted window (replay?)")]
    StaleTimestamp(String),
    #[error("encrypted message, but no EncodingAESKey is configured")]
    NoKey,
    #[error("plain message, but the account is in safe mode: only encrypted messages are accepted")]
    NotEncrypted,
    #[error("malformed XML: {0}")]
    MalformedXml(#[source] wechat::xml::XmlError),
    #[error("encrypted body has no Encrypt element")]
    NoEncrypt,
    #[error("decryption failed: {0}")]
    Crypto(#[from] CryptoError),
    #[error("not a WeChat message: {0}")]
    BadMessage(#[source] wechat::ParseError),
    #[error("body too large or unreadable: {0}")]
    Body(String),
    #[error("internal error: {0}")]
    Internal(#[from] JournalError),
}

impl Rejection {
    fn code(&self) -> &'static str {
        match self {
            Rejection::MissingParam(_) => "missing_param",
            Rejection::BadSignature | Rejection::Crypto(CryptoError::Signature) => "bad_signature",
            Rejection::StaleTimestamp(_) => "stale_timestamp",
            Rejection::NoKey => "no_key",
            Rejection::NotEncrypted => "not_encrypted",
            Rejection::MalformedXml(_) => "malformed_xml",
            Rejection::NoEncrypt => "no_encrypt",
            Rejection::Crypto(CryptoError::AppIdMismatch { .. }) => "wrong_appid",
            Rejection::Crypto(CryptoError::Base64) => "bad_base64",
            Rejection::Crypto(_) => "bad_ciphertext",
            Rejection::BadMessage(_) => "bad_message",
            Rejection::Body(_) => "bad_body",
            Rejection::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Rejection::BadSignature | Rejection::Crypto(CryptoError::Signature) => StatusCode::UNAUTHORIZED,
            Rejection::StaleTimestamp(_) | Rejection::NotEncrypted | Rejection::Crypto(CryptoError::AppIdMismatch { .. }) => {
                StatusCode::FORBIDDEN
            }
            Rejection::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Rejection::Body(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let code = self.code();
        tracing::warn!(reason = code, detail = %self, "callback rejected");
        metrics::counter!("wxlib_callbacks_total", "type" => "unknown", "outcome" => format!("rejected_{code}")).increment(1);
        (self.status(), format!("{self}\n")).into_response()
    }
}

fn require<'a>(v: &'a Option<String>, name: &'static str) -> Result<&'a str, Rejection> {
    v.as_deref().ok_or(Rejection::MissingParam(name))
}

/// GET /wechat: the URL check. The OA form echoes `echostr` after the 3-part signature; the
/// WeCom form (with `msg_signature`) decrypts it.
pub async fn verify_url<S>(State(st): State<Arc<CallbackState<S>>>, RawQuery(raw): RawQuery) -> Result<Response, Rejection> {
    let q = CallbackQuery::parse(raw.as_deref());
    let ts = require(&q.timestamp, "timestamp")?;
    let nonce = require(&q.nonce, "nonce")?;
    let echostr = require(&q.echostr, "echostr")?;
    if let Some(msg_sig) = &q.msg_signature {
        let crypto = st.crypto.as_ref().ok_or(Rejection::NoKey)?;
        let plain = crypto.open_echostr(msg_sig, ts, nonce, echostr)?;
        return Ok(plain_text(plain));
    }
    let sig = require(&q.signature, "signature")?;
    if !signature::verify(sig, &[&st.config.wechat.token, ts, nonce]) {
        return Err(Rejection::BadSignature);
    }
    Ok(plain_text(echostr.to_owned()))
}

fn plain_text(body: String) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], body).into_response()
}

fn xml_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/xml; charset=utf-8"))], body).into_response()
}

/// POST /wechat.
pub async fn receive<S: Clone + Send + Sync + 'static>(
    State(st): State<Arc<CallbackState<S>>>,
    RawQuery(raw): RawQuery,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Rejection> {
    let q = CallbackQuery::parse(raw.as_deref());
    let started = Instant::now();
    let body = body.map_err(|e| Rejection::Body(e.body_text()))?;
    let cfg = &st.config.wechat;
    let sig = require(&q.signature, "signature")?;
    let ts = require(&q.timestamp, "timestamp")?;
    let nonce = require(&q.nonce, "nonce")?;
    if !signature::verify(sig, &[&cfg.token, ts, nonce]) {
        return Err(Rejection::BadSignature);
    }
    // `abs_diff` cannot overflow: a timestamp of i64::MIN or i64::MAX is just far away.
    let t: i64 = ts.parse().map_err(|_| Rejection::StaleTimestamp(ts.to_owned()))?;
    if t.abs_diff(unix_now()) > cfg.timestamp_tolerance_secs.unsigned_abs() {
        return Err(Rejection::StaleTimestamp(ts.to_owned()));
    }

    let encrypted = q.encrypt_type.as_deref() == Some("aes");
    if !encrypted && cfg.message_mode() == MessageMode::Safe {
        // Signed with the token alone: anyone who learnt the token could post it. Only
        // compatible mode (an explicit choice) takes plain callbacks beside encrypted ones.
        return Err(Rejection::NotEncrypted);
    }
    let outer = wechat::xml::parse(&body).map_err(Rejection::MalformedXml)?;
    // `plain`: the message's own XML, kept only if its handler runs past the deadline.
    let (inbound, key_index, plain) = if encrypted {
        let crypto = st.crypto.as_ref().ok_or(Rejection::NoKey)?;
        let msg_sig = require(&q.msg_signature, "msg_signature")?;
        let enc = wechat::envelope::encrypt_field(&outer).ok_or(Rejection::NoEncrypt)?;
        let d = crypto.open(msg_sig, ts, nonce, enc)?;
        let inbound = Inbound::parse(d.xml.as_bytes()).map_err(Rejection::BadMessage)?;
        (Arc::new(inbound), d.key_index, std::borrow::Cow::Owned(d.xml))
    } else {
        (Arc::new(Inbound::from_element(outer).map_err(Rejection::BadMessage)?), 0, String::from_utf8_lossy(&body))
    };
    let kind = inbound.kind_label();

    let deadline = Duration::from_millis(cfg.reply_deadline_ms);
    let (reply, outcome) = handle_once(&st, inbound.clone(), &plain, started, deadline).await?;
    metrics::counter!("wxlib_callbacks_total", "type" => kind, "outcome" => outcome).increment(1);
    metrics::histogram!("wxlib_callback_seconds").record(started.elapsed().as_secs_f64());

    let rendered = match reply.validate(inbound.is_user_message()) {
        Ok(()) => reply.to_xml(&inbound.from_user, &inbound.to_user, unix_now()),
        Err(e) => {
            tracing::error!(error = %e, "handler produced a reply WeChat would reject; answering success");
            None
        }
    };
    let Some(xml) = rendered else { return Ok(plain_text("success".into())) };
    match (&st.crypto, encrypted) {
        (Some(crypto), true) => {
            let our_ts = unix_now().to_string();
            let our_nonce = rand::random::<u32>().to_string();
            Ok(xml_response(crypto.seal_reply(key_index, &xml, &our_ts, &our_nonce, rand::random())))
        }
        _ => Ok(xml_response(xml)),
    }
}

/// Claims the callback and either runs it, waits for the claimant, or replays its answer.
async fn handle_once<S: Clone + Send + Sync + 'static>(
    st: &Arc<CallbackState<S>>,
    msg: Arc<Inbound>,
    plain: &str,
    started: Instant,
    deadline: Duration,
) -> Result<(Reply, &'static str), Rejection> {
    let journal = &st.journal;
    let key = msg.dedupe_key();
    let record = record_of(&msg);
    loop {
        let begin = Begin { key: key.clone(), now: unix_now(), lease_secs: CLAIM_LEASE_SECS, record: Some(record.clone()) };
        let claim = journal.begin(begin).await?;
        match claim {
            Claim::Owner => break,
            Claim::Done(reply) => return Ok((reply, "duplicate")),
            Claim::Running if started.elapsed() + Duration::from_millis(50) >= deadline => return Ok((Reply::Success, "duplicate")),
            Claim::Running => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }

    // The handler runs right here, in the request's task (no task of its own, no hand-off: most
    // handlers answer in microseconds). If it is still running at the deadline, or the request
    // goes away first (WeChat hung up), it is moved to a task of its own that finishes it and
    // sends the answer through the outbox.
    let mut running =
        LateGuard { st: st.clone(), msg: msg.clone(), key: key.clone(), handler: Some(Box::pin(run_handler(st.clone(), msg.clone()))) };
    match running.answer_within(deadline.saturating_sub(started.elapsed())).await {
        Some(reply) => {
            journal.finish(Finish { key, state: "done", reply: journal.stored(&reply), now: unix_now() }).await?;
            Ok((reply, "replied"))
        }
        None => {
            tracing::info!(key, "handler passed the reply deadline; answering success, the answer follows by customer-service message");
            // WeChat sends no retry once it has `success`: the message is kept (leased to this
            // node) until its answer is queued, so that if this node dies first another one
            // runs it again ([`rerun_orphans`]). Bounded: WeChat's 5 s come first.
            let now = unix_now();
            let keep = st.outbox.db.keep_late(&key, &msg.from_user, plain, now + CLAIM_LEASE_SECS, now);
            match tokio::time::timeout(KEEP_LATE_WITHIN, keep).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %Chain(&e), key, "could not keep a late callback: lost if this node dies before it answers")
                }
                Err(_) => tracing::error!(key, "keeping a late callback took too long: lost if this node dies before it answers"),
            }
            // The late task keeps the claim (and the kept message) renewed and records it
            // `deferred` once the answer is in the outbox: a retry meanwhile finds it running
            // (and answers `success` at its own deadline).
            running.defer();
            Ok((Reply::Success, "deferred"))
        }
    }
}

/// Extends the claim on `key` by [`CLAIM_LEASE_SECS`] from now, off the handler's path (a
/// failed renewal is logged; the claim then runs out and a retry may take the callback over).
fn renew_claim(journal: &Journal, key: &str) {
    let (journal, key) = (journal.clone(), key.to_owned());
    tokio::spawn(async move {
        if let Err(e) = journal.renew(&key, unix_now() + CLAIM_LEASE_SECS).await {
            tracing::warn!(error = %e, key, "could not renew a callback's claim");
        }
    });
}

/// Extends the kept message of a late callback, like [`renew_claim`].
fn renew_late(db: &crate::db::Db, key: &str) {
    let (db, key) = (db.clone(), key.to_owned());
    tokio::spawn(async move {
        if let Err(e) = db.renew_late(&key, unix_now() + CLAIM_LEASE_SECS).await {
            tracing::warn!(error = %Chain(&e), key, "could not renew a late callback's kept message");
        }
    });
}

/// How long the deadline path may spend keeping a late callback's message.
const KEEP_LATE_WITHIN: Duration = Duration::from_millis(300);

/// Why a late callback of a node that died could not be run again.
#[derive(Debug, thiserror::Error)]
pub enum LateError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Runs forever on every node: a late callback whose node died (its kept message's lease ran
/// out) is claimed here and its handler run again, once; the answer goes through the outbox
/// under the callback's key, so a reader whose answer the dead node had already queued gets it
/// once, not twice.
pub async fn rerun_orphans<S: Clone + Send + Sync + 'static>(st: Arc<CallbackState<S>>) {
    let pause = crate::jobs::Pause::every(Duration::from_secs(1));
    crate::jobs::forever("late callbacks of nodes that died", pause, || {
        let st = st.clone();
        async move {
            let now = unix_now();
            let Some(late) = st.outbox.db.take_orphaned_late(now, now + CLAIM_LEASE_SECS).await? else {
                return Ok::<_, LateError>(crate::jobs::Next::Pause);
            };
            rerun(&st, late).await?;
            Ok(crate::jobs::Next::RightAway)
        }
    })
    .await
}

async fn rerun<S: Clone + Send + Sync + 'static>(st: &Arc<CallbackState<S>>, late: super::store::LateCallback) -> Result<(), LateError> {
    let db = &st.outbox.db;
    let key = late.dedupe_key;
    let journal = &st.journal;
    if db.outbox_has(&key).await? {
        // The dead node queued the answer and died before tidying up.
        journal.finish(Finish { key: key.clone(), state: "deferred", reply: journal.stored(&Reply::Success), now: unix_now() }).await?;
        db.drop_late(&key).await?;
        return Ok(());
    }
    let msg = match Inbound::parse(late.message.as_bytes()) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            tracing::error!(error = %e, key, "a late callback's kept message cannot be read; dropped");
            db.drop_late(&key).await?;
            return Ok(());
        }
    };
    match journal.begin(Begin { key: key.clone(), now: unix_now(), lease_secs: CLAIM_LEASE_SECS, record: None }).await? {
        Claim::Owner => {
            tracing::warn!(key, "running again a late callback whose node died; its answer follows by customer-service message");
            let handler: RunningHandler = Box::pin(run_handler(st.clone(), msg.clone()));
            LateGuard { st: st.clone(), msg, key, handler: Some(handler) }.defer();
        }
        Claim::Done(_) => db.drop_late(&key).await?,
        // Its node is alive after all (it renews the claim): it is looked at again later.
        Claim::Running => {}
    }
    Ok(())
}

type RunningHandler = std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + Send>>;

/// A handler that has not answered yet. Deferring it (deadline passed) or dropping it (the
/// request was cancelled) moves it to a task of its own, so that a started handler always
/// finishes and its answer reaches the reader exactly once, by the outbox.
struct LateGuard<S: Clone + Send + Sync + 'static> {
    st: Arc<CallbackState<S>>,
    msg: Arc<Inbound>,
    key: String,
    handler: Option<RunningHandler>,
}

impl<S: Clone + Send + Sync + 'static> LateGuard<S> {
    /// Runs the handler until it answers or `within` has passed (then `None`, and it is still
    /// there to defer).
    /// The claim is renewed every [`RENEW_EVERY`] meanwhile.
    async fn answer_within(&mut self, within: Duration) -> Option<Reply> {
        let until = tokio::time::Instant::now() + within;
        loop {
            let handler = self.handler.as_mut()?;
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            if let Ok(reply) = tokio::time::timeout(left.min(RENEW_EVERY), handler).await {
                self.handler = None;
                return Some(reply);
            }
            renew_claim(&self.st.journal, &self.key);
        }
    }

    /// Moves the handler to a task of its own, which keeps the claim (and the kept message, at
    /// the deadline) renewed until the answer is queued in the outbox and the callback recorded
    /// `deferred`. This node answered `success` at the deadline, so WeChat sends no retry: if it
    /// dies before the answer is queued, the kept message's lease runs out and another node runs
    /// it again ([`rerun_orphans`]).
    fn defer(&mut self) {
        let Some(mut handler) = self.handler.take() else { return };
        let (st, msg, key) = (self.st.clone(), self.msg.clone(), self.key.clone());
        let late = async move {
            let reply = loop {
                match tokio::time::timeout(RENEW_EVERY, &mut handler).await {
                    Ok(reply) => break reply,
                    Err(_) => {
                        renew_claim(&st.journal, &key);
                        renew_late(&st.outbox.db, &key);
                    }
                }
            };
            if let Err(e) = st.outbox.push(&msg.from_user, &reply, &key).await {
                // Not recorded as deferred: the claim and the kept message run out, and another
                // node (or a retry, if one comes) runs it again.
                tracing::error!(error = %e, "could not queue a late answer");
                return;
            }
            let journal = &st.journal;
            if let Err(e) = journal
                .finish(Finish { key: key.clone(), state: "deferred", reply: journal.stored(&Reply::Success), now: unix_now() })
                .await
            {
                tracing::error!(error = %e, "could not record a late answer as deferred");
            }
            if let Err(e) = st.outbox.db.drop_late(&key).await {
                // Harmless: whoever takes it finds the answer queued and only tidies up.
                tracing::warn!(error = %Chain(&e), key, "could not drop a late callback's kept message");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(late);
            }
            Err(_) => tracing::error!(key = %self.key, "runtime gone: a late answer is lost"),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Drop for LateGuard<S> {
    fn drop(&mut self) {
        if self.handler.is_some() {
            // The request was cancelled mid-handler (the connection closed): the handler
            // finishes in a task of its own, which keeps the claim (so a retry does not run it
            // again) and sends the answer through the outbox.
            self.defer();
        }
    }
}

/// Runs the message's handler. Failures and panics become an apology to the reader and an error
/// in the log.
async fn run_handler<S: Clone + Send + Sync + 'static>(st: Arc<CallbackState<S>>, msg: Arc<Inbound>) -> Reply {
    let Some(h) = st.router.route(&msg) else { return Reply::Success };
    let started = Instant::now();
    let result = std::panic::AssertUnwindSafe(h(st.context.clone(), msg.clone())).catch_unwind().await;
    metrics::histogram!("wxlib_handler_seconds").record(started.elapsed().as_secs_f64());
    match result {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => {
            tracing::error!(error = %Chain(&e), from = %msg.from_user, "handler failed");
            Reply::text(lang::sorry(st.lang))
        }
        Err(_) => {
            tracing::error!(from = %msg.from_user, "handler panicked");
            Reply::text(lang::sorry(st.lang))
        }
    }
}

/// What claiming this callback records: the event log row, the follower change and the
/// customer-service window the interaction opens.
fn record_of(msg: &Inbound) -> Record {
    let ev = msg.event();
    let (follow, window) = match (&msg.kind, ev) {
        (_, Some(Event::Subscribe { scene, .. })) => {
            (FollowChange::Subscribe { scene: scene.clone() }, Some((EVENT_WINDOW_SECS, EVENT_WINDOW_QUOTA)))
        }
        (_, Some(Event::Unsubscribe)) => (FollowChange::Unsubscribe, None),
        (_, Some(Event::Click { .. } | Event::Scan { .. } | Event::ScanCodePush { .. } | Event::ScanCodeWaitMsg { .. })) => {
            (FollowChange::Unchanged, Some((EVENT_WINDOW_SECS, EVENT_WINDOW_QUOTA)))
        }
        (InboundKind::Event(_), _) => (FollowChange::Unchanged, None),
        _ => (FollowChange::Unchanged, Some((MESSAGE_WINDOW_SECS, MESSAGE_WINDOW_QUOTA))),
    };
    Record {
        openid: msg.from_user.clone(),
        msg_type: msg.msg_type.clone(),
        event: ev.map(|e| e.name().to_owned()),
        event_key: msg.raw.child_text("EventKey").map(str::to_owned),
        created_at: msg.create_time,
        follow,
        window,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written query reader agrees with `form_urlencoded` (first value wins).
    #[test]
    fn query_reads_as_form_urlencoded_does() {
        let cases = [
            "signature=abc&timestamp=1700000000&nonce=42&openid=oX&encrypt_type=aes&msg_signature=def",
            "nonce=a%2Bb&nonce=second&timestamp=+12&echostr=x%3Dy=z",
            "&&signature&timestamp=&=v&msg_signature=%E4%B8%AD%FF",
            "encrypt%5Ftype=aes&sig+nature=1",
            "",
        ];
        for raw in cases {
            let q = CallbackQuery::parse(Some(raw));
            let first = |name: &str| form_urlencoded::parse(raw.as_bytes()).find(|(n, _)| n == name).map(|(_, v)| v.into_owned());
            assert_eq!(q.signature, first("signature"), "{raw}");
            assert_eq!(q.timestamp, first("timestamp"), "{raw}");
            assert_eq!(q.nonce, first("nonce"), "{raw}");
            assert_eq!(q.echostr, first("echostr"), "{raw}");
            assert_eq!(q.encrypt_type, first("encrypt_type"), "{raw}");
            assert_eq!(q.msg_signature, first("msg_signature"), "{raw}");
        }
        assert_eq!(CallbackQuery::parse(None).nonce, None);
    }
}
