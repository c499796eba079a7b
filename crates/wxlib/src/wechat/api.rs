//! Client for WeChat's server API (reference §5): the stable access token shared by every node,
//! customer-service messages and the menu. The base URL is configurable so tests and the
//! simulator can stand in for WeChat.
//!
//! Token discipline: the token lives in the database so all nodes use the same one; only the node
//! holding the `access_token` lease fetches a new one (WxJava #369: nodes refreshing on their own
//! invalidate each other). On 40001/42001/40014 we refresh once and retry once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::db::{Db, DbError, unix_now};

/// WeChat's web authorisation page (`snsapi_base`, no consent screen) for the page at
/// `redirect`, which WeChat then opens with `?code=…` ([`WeChatApi::oauth_openid`] reads it).
pub fn authorize_url(oauth_base: &str, app_id: &str, redirect: &str, state: &str) -> String {
    format!(
        "{}/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code&scope=snsapi_base&state={state}#wechat_redirect",
        oauth_base.trim_end_matches('/'),
        crate::web::urlencode(app_id),
        crate::web::urlencode(redirect)
    )
}

/// Errors that mean "this token is no good": invalid, expired, not latest.
const TOKEN_ERRORS: [i64; 3] = [40001, 42001, 40014];

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("WeChat API {endpoint} answered errcode {errcode}: {errmsg}")]
    WeChat { endpoint: String, errcode: i64, errmsg: String },
    #[error("WeChat API {endpoint} unreachable: {source}")]
    Http { endpoint: String, source: reqwest::Error },
    #[error("WeChat API {endpoint} sent an unreadable answer: {reason}")]
    BadAnswer { endpoint: String, reason: String },
    #[error("another node is refreshing the access token; try again shortly")]
    TokenBusy,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ApiError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            ApiError::WeChat { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct WeChatApi {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    app_id: String,
    app_secret: String,
    db: Db,
    node_id: String,
    /// Serialises refreshes inside this process; the lease does it across processes.
    refresh: Mutex<Option<(String, i64)>>,
    /// The account's templates as last listed, and when (see [`WeChatApi::templates`]).
    templates: Mutex<Option<(std::time::Instant, Arc<Vec<super::templates::TemplateDef>>)>>,
}

/// How long the account's template list is reused (librarians add templates rarely).
const TEMPLATES_FRESH_FOR: Duration = Duration::from_secs(600);

impl WeChatApi {
    pub fn new(base: &str, app_id: &str, app_secret: &str, db: Db, node_id: String) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).connect_timeout(Duration::from_secs(3)).build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base: base.trim_end_matches('/').to_owned(),
                app_id: app_id.to_owned(),
                app_secret: app_secret.to_owned(),
                db,
                node_id,
                refresh: Mutex::new(None),
                templates: Mutex::new(None),
            }),
        })
    }

    /// A valid access token: from memory, the shared table, or a fresh fetch.
    pub async fn access_token(&self) -> Result<String, ApiError> {
        let now = unix_now();
        let mut cached = self.inner.refresh.lock().await;
        if let Some((token, expires_at)) = cached.as_ref()
            && *expires_at > now + 60
        {
            return Ok(token.clone());
        }
        let stored = self.stored_token().await?;
        if let Some((token, expires_at)) = stored.filter(|(_, exp)| *exp > now + 60) {
            *cached = Some((token.clone(), expires_at));
            return Ok(token);
        }
        let (token, expires_at) = self.refresh_shared(None).await?;
        *cached = Some((token.clone(), expires_at));
        Ok(token)
    }

    async fn stored_token(&self) -> Result<Option<(String, i64)>, ApiError> {
        Ok(self.inner.db.api_token(&self.inner.app_id).await?)
    }

    /// Fetches a new token under the cross-node lease. `rejected` is a token WeChat just refused:
    /// if the table already holds a different one, another node refreshed and we use theirs.
    async fn refresh_shared(&self, rejected: Option<&str>) -> Result<(String, i64), ApiError> {
        let db = &self.inner.db;
        for _ in 0..50 {
            let now = unix_now();
            if let Some((token, exp)) = self.stored_token().await? {
                let usable = exp > now + 60 && rejected.is_none_or(|r| r != token);
                if usable {
                    return Ok((token, exp));
                }
            }
            if db.try_lease("access_token", &self.inner.node_id, 30, now).await? {
                let result = self.fetch_stable_token(rejected.is_some()).await;
                if let Ok((token, exp)) = &result {
                    db.store_api_token(&self.inner.app_id, token, *exp, now).await?;
                }
                db.release_lease("access_token", &self.inner.node_id).await?;
                return result;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(ApiError::TokenBusy)
    }

    /// POST /cgi-bin/stable_token. `force` asks for a new token even if the current one is valid
    /// (only after WeChat refused a token: it is limited to 20 a day).
    async fn fetch_stable_token(&self, force: bool) -> Result<(String, i64), ApiError> {
        let body =
            json!({"grant_type": "client_credential", "appid": self.inner.app_id, "secret": self.inner.app_secret, "force_refresh": force});
        let v = self.send("stable_token", "/cgi-bin/stable_token", None, Some(&body)).await?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::BadAnswer { endpoint: "stable_token".into(), reason: "no access_token".into() })?;
        let expires_in = v.get("expires_in").and_then(Value::as_i64).unwrap_or(7200);
        Ok((token.to_owned(), unix_now() + expires_in))
    }

    /// One HTTP exchange; turns `errcode != 0` into an error and counts it.
    async fn send(&self, endpoint: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Result<Value, ApiError> {
        let url = format!("{}{}", self.inner.base, path);
        let mut req = match body {
            Some(b) => self.inner.http.post(&url).json(b),
            None => self.inner.http.get(&url),
        };
        if let Some(t) = token {
            req = req.query(&[("access_token", t)]);
        }
        let started = std::time::Instant::now();
        let result = async {
            let resp = req.send().await.map_err(|source| ApiError::Http { endpoint: endpoint.into(), source })?;
            let text = resp.text().await.map_err(|source| ApiError::Http { endpoint: endpoint.into(), source })?;
            let v: Value =
                serde_json::from_str(&text).map_err(|e| ApiError::BadAnswer { endpoint: endpoint.into(), reason: e.to_string() })?;
            match v.get("errcode").and_then(Value::as_i64) {
                Some(code) if code != 0 => Err(ApiError::WeChat {
                    endpoint: endpoint.into(),
                    errcode: code,
                    errmsg: v.get("errmsg").and_then(Value::as_str).unwrap_or_default().to_owned(),
                }),
                _ => Ok(v),
            }
        }
        .await;
        let code = match &result {
            Ok(_) => "0".to_owned(),
            Err(ApiError::WeChat { errcode, .. }) => errcode.to_string(),
            Err(_) => "transport".to_owned(),
        };
        metrics::counter!("wxlib_api_calls_total", "endpoint" => endpoint.to_owned(), "errcode" => code).increment(1);
        metrics::histogram!("wxlib_api_call_seconds", "endpoint" => endpoint.to_owned()).record(started.elapsed().as_secs_f64());
        result
    }

    /// Calls an endpoint with the access token; on a token error refreshes once and retries once.
    pub async fn call(&self, endpoint: &str, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let token = self.access_token().await?;
        match self.send(endpoint, path, Some(&token), body).await {
            Err(ApiError::WeChat { errcode, .. }) if TOKEN_ERRORS.contains(&errcode) => {
                tracing::warn!(endpoint, errcode, "access token refused; refreshing once and retrying");
                let (fresh, exp) = self.refresh_shared(Some(&token)).await?;
                *self.inner.refresh.lock().await = Some((fresh.clone(), exp));
                self.send(endpoint, path, Some(&fresh), body).await
            }
            other => other,
        }
    }

    /// POST /cgi-bin/message/custom/send with a prepared body (`touser`, `msgtype`, …).
    pub async fn send_custom_message(&self, body: &Value) -> Result<(), ApiError> {
        self.call("message/custom/send", "/cgi-bin/message/custom/send", Some(body)).await.map(|_| ())
    }

    /// Web authorisation (OAuth2 `snsapi_base`): exchanges the `code` WeChat gave the page for
    /// the reader's openid. Uses the app secret, not the access token.
    pub async fn oauth_openid(&self, code: &str) -> Result<String, ApiError> {
        let enc = |s: &str| crate::web::urlencode(s);
        let path = format!(
            "/sns/oauth2/access_token?appid={}&secret={}&code={}&grant_type=authorization_code",
            enc(&self.inner.app_id),
            enc(&self.inner.app_secret),
            enc(code)
        );
        let v = self.send("sns/oauth2/access_token", &path, None, None).await?;
        v.get("openid")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::BadAnswer { endpoint: "sns/oauth2/access_token".into(), reason: "no openid".into() })
    }

    /// POST /cgi-bin/message/template/send; returns the msgid.
    pub async fn send_template(&self, body: &Value) -> Result<Option<i64>, ApiError> {
        let v = self.call("message/template/send", "/cgi-bin/message/template/send", Some(body)).await?;
        Ok(v.get("msgid").and_then(Value::as_i64))
    }

    /// The account's templates as WeChat defines them (GET `template/get_all_private_template`).
    pub async fn private_templates(&self) -> Result<Vec<super::templates::TemplateDef>, ApiError> {
        let v = self.call("template/get_all_private_template", "/cgi-bin/template/get_all_private_template", None).await?;
        Ok(super::templates::parse_list(&v))
    }

    /// The account's templates, listed at most every ten minutes.
    pub async fn templates(&self) -> Result<Arc<Vec<super::templates::TemplateDef>>, ApiError> {
        let mut cached = self.inner.templates.lock().await;
        if let Some((at, list)) = cached.as_ref()
            && at.elapsed() < TEMPLATES_FRESH_FOR
        {
            return Ok(list.clone());
        }
        let list = Arc::new(self.private_templates().await?);
        *cached = Some((std::time::Instant::now(), list.clone()));
        Ok(list)
    }

    /// A permanent parametric QR code for a string scene (posters, channels): (ticket, url).
    pub async fn create_permanent_qr(&self, scene: &str) -> Result<(String, String), ApiError> {
        let body = json!({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}});
        let v = self.call("qrcode/create", "/cgi-bin/qrcode/create", Some(&body)).await?;
        let field = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ApiError::BadAnswer { endpoint: "qrcode/create".into(), reason: format!("no {k}") })
        };
        Ok((field("ticket")?, field("url")?))
    }

    pub async fn create_menu(&self, menu: &Value) -> Result<(), ApiError> {
        self.call("menu/create", "/cgi-bin/menu/create", Some(menu)).await.map(|_| ())
    }

    pub async fn get_menu(&self) -> Result<Value, ApiError> {
        self.call("menu/get", "/cgi-bin/get_current_selfmenu_info", None).await
    }

    pub async fn delete_menu(&self) -> Result<(), ApiError> {
        self.call("menu/delete", "/cgi-bin/menu/delete", None).await.map(|_| ())
    }
}
