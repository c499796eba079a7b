//! The simulator's handle: one in-memory WeChat (its state behind a mutex) with the methods tests
//! use to act as readers, move the clock, inspect what was delivered and inject faults.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use crate::state::{self, ApiCall, Draft, Fault, Follower, MassJob, Pushed, QrCode, SimConfig};

/// The simulated WeChat. Cheap to clone; all clones share one in-memory state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Mutex<state::SimState>>,
}

impl Default for Simulator {
    fn default() -> Self {
        Self::new(SimConfig::default())
    }
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        Self { inner: Arc::new(Mutex::new(state::SimState::new(config))) }
    }

    /// A simulator for an account with these credentials and default settings.
    pub fn with_credentials(app_id: &str, app_secret: &str) -> Self {
        Self::new(SimConfig { app_id: app_id.to_owned(), app_secret: app_secret.to_owned(), ..SimConfig::default() })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, state::SimState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn config(&self) -> SimConfig {
        self.lock().cfg.clone()
    }

    pub fn app_id(&self) -> String {
        self.lock().cfg.app_id.clone()
    }

    pub fn app_secret(&self) -> String {
        self.lock().cfg.app_secret.clone()
    }

    // ---- clock ----

    /// Simulated unix time, seconds.
    pub fn now(&self) -> i64 {
        self.lock().now_secs()
    }

    /// Simulated unix time, milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.lock().now_ms()
    }

    /// Moves the simulated clock forward.
    pub fn advance(&self, by: Duration) {
        self.lock().offset_ms += by.as_millis() as i64;
    }

    // ---- credentials ----

    /// The current stable access token, as `stable_token` in normal mode would return it.
    pub fn access_token(&self) -> String {
        self.lock().stable_token(false).0
    }

    /// Issues an OAuth2 code for this reader directly (as the authorize page would).
    pub fn oauth_code(&self, openid: &str, scope: &str) -> String {
        let mut st = self.lock();
        st.know_user(openid);
        let code = state::random_string(32);
        let created_ms = st.now_ms();
        st.oauth_codes
            .insert(code.clone(), state::OAuthCode { openid: openid.to_owned(), scope: scope.to_owned(), created_ms, used: false });
        code
    }

    // ---- readers ----

    /// The reader follows the account; `scene` is the QR scene (`scene_id` digits or `scene_str`)
    /// when the follow came from a parametric QR code. A follow opens the 1-minute window.
    pub fn follow(&self, openid: &str, scene: Option<String>) {
        self.lock().follow(openid, scene.as_deref());
    }

    /// The reader unfollows; their customer-service windows close.
    pub fn unfollow(&self, openid: &str) {
        self.lock().unfollow(openid);
    }

    /// Sets the reader's WeChat ID (for `mass/preview` `towxname`).
    pub fn set_wxname(&self, openid: &str, wxname: &str) {
        if let Some(f) = self.lock().followers.get_mut(openid) {
            f.wxname = Some(wxname.to_owned());
        }
    }

    pub fn follower(&self, openid: &str) -> Option<Follower> {
        self.lock().followers.get(openid).cloned()
    }

    /// Every user WeChat knows for this account (followers, past followers, OAuth visitors), in
    /// the order they first appeared.
    pub fn followers(&self) -> Vec<Follower> {
        let st = self.lock();
        st.follower_order.iter().filter_map(|o| st.followers.get(o).cloned()).collect()
    }

    /// The reader sent a message: 5 customer-service sends within 48 h.
    pub fn note_user_message(&self, openid: &str) {
        self.lock().note_user_message(openid);
    }

    /// The reader clicked a menu, scanned a code or followed: 3 sends within a minute.
    pub fn note_click_or_scan_or_follow(&self, openid: &str) {
        self.lock().note_event(openid);
    }

    /// The reader accepted one subscription message of this template (one-time authorization).
    pub fn accept_subscribe_message(&self, openid: &str, template_id: &str) {
        let mut st = self.lock();
        st.know_user(openid);
        *st.subscribe_grants.entry((openid.to_owned(), template_id.to_owned())).or_insert(0) += 1;
    }

    /// Registers a template (template messages and subscription messages share the registry).
    /// `due_reminder`, `hold_ready` and `overdue_notice` are there from the start.
    pub fn add_template(&self, id: &str, title: &str, fields: &[&str]) {
        self.lock().add_template(id, title, fields);
    }

    pub fn link_miniprogram(&self, appid: &str) {
        self.lock().linked_miniprograms.insert(appid.to_owned());
    }

    // ---- records ----

    /// Everything delivered to this reader, in order.
    pub fn inbox(&self, openid: &str) -> Vec<Pushed> {
        self.lock().inbox.get(openid).cloned().unwrap_or_default()
    }

    /// Every API call so far, in order.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// The current menu (`{"button":[…]}`), if any.
    pub fn menu(&self) -> Option<Value> {
        self.lock().menu.clone()
    }

    pub fn qr_codes(&self) -> Vec<QrCode> {
        self.lock().qr_codes.clone()
    }

    /// The QR code with this ticket or encoded URL.
    pub fn qr_code(&self, ticket_or_url: &str) -> Option<QrCode> {
        self.lock().qr_codes.iter().find(|q| q.ticket == ticket_or_url || q.url == ticket_or_url).cloned()
    }

    /// Every mass job (sendall, send and preview) with its recipients.
    pub fn mass_jobs(&self) -> Vec<MassJob> {
        self.lock().mass_jobs.clone()
    }

    /// A reader opens article `idx` (0-based) of mass job `msg_id` in WeChat, or its 阅读原文 link
    /// when `original`: what `datacube/getarticlesummary` and `getarticletotal` count. Only a
    /// recipient of a sent (not preview) news job can open it.
    pub fn read_article(&self, openid: &str, msg_id: u64, idx: usize, original: bool) -> Result<(), String> {
        let mut st = self.lock();
        let job = st
            .mass_jobs
            .iter()
            .find(|j| j.msg_id == msg_id && j.msg_data_id.is_some())
            .ok_or_else(|| format!("no sent news job {msg_id}"))?;
        if !job.recipients.iter().any(|r| r == openid) {
            return Err(format!("{openid} did not receive job {msg_id}"));
        }
        let count = job.body.get("mpnews").and_then(|m| m.get("articles")).and_then(serde_json::Value::as_array).map_or(0, Vec::len);
        if idx >= count {
            return Err(format!("job {msg_id} has {count} articles"));
        }
        let at = st.now_secs();
        st.article_reads.push(state::ArticleRead { msg_id, idx, openid: openid.to_owned(), original, at });
        Ok(())
    }

    pub fn drafts(&self) -> Vec<Draft> {
        self.lock().drafts.values().cloned().collect()
    }

    /// Tags as `(id, name)`, including WeChat's reserved 2 (星标组).
    pub fn tags(&self) -> Vec<(u64, String)> {
        self.lock().tags.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    // ---- faults ----

    /// The next `times` calls whose WeChat path starts with `path_prefix` (`""` for all) get
    /// `fault` (`usize::MAX`: until [`Self::clear_faults`]). Delays add up and are followed by the
    /// normal answer, or by an error/status fault that also matches.
    pub fn inject(&self, path_prefix: &str, fault: Fault, times: usize) {
        if times == 0 {
            return;
        }
        self.lock().faults.push(state::FaultRule { prefix: path_prefix.to_owned(), fault, remaining: times });
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }
}
