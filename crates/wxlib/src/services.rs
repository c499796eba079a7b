//! What every handler and background job can reach: the store, WeChat's API, the journal, the
//! outbox, the configuration and the clock, and the handles of features' own state (the catalog's
//! index, the library system, the keyword rules, the partner list), each defined in a file that
//! imports no handler. Cheap to clone. Also who the reader behind a web page is
//! ([`Services::web_reader`]).

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};

use crate::catalog::Catalog;
use crate::circulation::Ils;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::lang::Lang;
use crate::web::error::WebError;
use crate::web::session::{Purpose, SESSION_SECS, SessionSigner, cookie_token};
use crate::wechat::api::WeChatApi;
use crate::wechat::journal::Journal;
use crate::wechat::outbox::Outbox;

#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub api: WeChatApi,
    pub config: Arc<Config>,
    pub lang: Lang,
    /// Customer-service messages to send, and the sender's wake-up.
    pub outbox: Outbox,
    /// Batched claims and records of callbacks.
    pub journal: Journal,
    /// The catalog and its search index.
    pub catalog: Catalog,
    /// The library system loans and holds come from.
    pub ils: Ils,
    pub clock: Clock,
    /// Signs the reader sessions of the web pages opened from the menu and the news pages' reader
    /// id, each under its own purpose.
    pub sessions: SessionSigner,
    /// The keyword answer rules, compiled, reloaded when they change.
    pub answers: crate::answers::AnswerBook,
    /// The partner libraries, as the readers' searches use them (see [`Services::partners`]).
    pub partners: crate::recent::Recent<Vec<crate::partners::Partner>>,
}

impl Services {
    /// The partner libraries in the librarians' order, read from the store at most once a
    /// [`crate::recent::FRESH_FOR`]: a zero-hit search asks for them on every text. The console
    /// forgets them when it changes them.
    pub async fn partners(&self) -> Result<Arc<Vec<crate::partners::Partner>>, crate::db::DbError> {
        self.partners.get_or_load(|| self.db.partners()).await
    }

    /// Queues a customer-service message and wakes the outbox worker.
    pub async fn push(&self, openid: &str, reply: &wechat::Reply, dedupe_key: &str) -> Result<bool, crate::db::DbError> {
        self.outbox.push(openid, reply, dedupe_key).await
    }

    /// The reader behind a request for one of the pages opened from the menu (`path`): from the
    /// session cookie, or from WeChat's `code` (which starts a session: the token comes back to be
    /// set as the cookie). `Err` is what to answer instead: a redirect to WeChat's web
    /// authorisation, or the page saying it failed.
    pub async fn web_reader(&self, headers: &HeaderMap, code: Option<&str>, path: &str) -> Result<(String, Option<String>), WebError> {
        let now = self.clock.now();
        if let Some(openid) = cookie_token(headers).and_then(|t| self.sessions.verify(Purpose::ReaderSession, &t, now)) {
            return Ok((openid, None));
        }
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            let w = &self.config.wechat;
            let redirect = format!("{}{}", self.config.server.public_url, path);
            return Err(WebError::redirect(&crate::wechat::api::authorize_url(&w.oauth_base, &w.app_id, &redirect, "bind")));
        };
        match self.api.oauth_openid(code).await {
            Ok(openid) => {
                let token = self.sessions.sign(Purpose::ReaderSession, &openid, now + SESSION_SECS);
                Ok((openid, Some(token)))
            }
            Err(e) => Err(WebError::page(
                StatusCode::FORBIDDEN,
                "绑定一卡通",
                "<div class=\"card no\">微信授权失败或已过期，请从公众号菜单重新打开本页。</div>",
            )
            .because("web authorisation", e)),
        }
    }
}
