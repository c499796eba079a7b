//! # WeChat in a box
//!
//! Part 1 (this page): the server-API stand-in. Part 2: [`Phone`], simulated readers who talk to
//! the account's callback as WeChat does, with a web page that looks like WeChat's chat and a
//! JSON API for scripts and tests (see the crate's `README.md`).
//!
//! ## Part 1: the server-API stand-in
//!
//! An in-memory stand-in for WeChat's Official Account server API (`api.weixin.qq.com`) and the
//! OAuth2 authorize page (`open.weixin.qq.com/connect/oauth2/authorize`), with WeChat's paths,
//! JSON shapes, limits and error codes, a clock tests can move, fault injection, and a record of
//! everything it delivered to the simulated readers.
//!
//! ```no_run
//! # async fn f() {
//! let sim = simulator::Simulator::default();
//! sim.follow("oREADER000000000000000000001", None);
//! let app = axum::Router::new().nest("/sim/api", sim.router()); // API + `/_control`
//! // wxlib's api_base is then http://HOST:PORT/sim/api and the QR image base
//! // http://HOST:PORT/sim/api/cgi-bin/showqrcode
//! # let _ = app; }
//! ```
//!
//! * [`Simulator::api_router`] serves WeChat's paths at its root (`/cgi-bin/...`, `/sns/...`,
//!   `/connect/oauth2/authorize`, and `/mmbiz/{id}` for uploaded images);
//!   [`Simulator::control_router`] serves the control endpoints at its root (see [`control`]);
//!   [`Simulator::router`] is both, with the control endpoints under `/_control`.
//! * Every API answer is HTTP 200 with `{"errcode":N,"errmsg":"… rid: …"}` on error, like WeChat.
//! * Time: the simulated clock is the real clock plus an offset that [`Simulator::advance`] (or
//!   `POST /_control/advance`) moves, so token expiry, the 48-hour window, code expiry and the
//!   monthly mass quota can be tested without waiting.
//!
//! ## Error codes, where they are used, and where they come from
//!
//! Numbers and texts are WeChat's global return codes (the official 全局返回码 list; WxJava's
//! `WxMpErrorMsgEnum` and several SDK tables mirror it), limits are from the project reference
//! (`shared/reference/wechat.md` §5). Where WeChat's documentation names no code for a rejection,
//! the closest global code is used; those choices are marked *(choice)*.
//!
//! | code | meaning | returned by |
//! |---|---|---|
//! | -1 | system error | only when injected ([`Fault::Error`]) |
//! | 40001 | invalid credential | any token-taking API: unknown token, or a stable token replaced by `force_refresh`; `/sns/userinfo` unknown token |
//! | 40002 | invalid grant_type | `token`, `stable_token` (not `client_credential`), `sns/oauth2/access_token` (not `authorization_code`) |
//! | 40003 | invalid openid | `touser`/`openid` missing or unknown to WeChat (custom, template, bizsend, preview, user/info, tags, mass/send) |
//! | 40004 | invalid media type | upload with a `type` other than image/voice/video/thumb |
//! | 40005 | invalid file type | upload with an extension WeChat does not take (uploadimg: jpg/png) |
//! | 40006 / 40009 | invalid file / image size | upload over the type's limit (uploadimg 1 MB, image 10 MB, voice 2 MB, video 10 MB, thumb 64 KB) |
//! | 40007 | invalid media_id | unknown or expired media, a consumed draft in `mpnews`, a draft thumb that is not a permanent image, unknown draft in draft/get, update, delete |
//! | 40008 | invalid message type | unknown `msgtype` (custom, mass) |
//! | 40013 | invalid appid | token calls and OAuth with another appid |
//! | 40016 / 40017 | invalid button size / type | menu: not 1..3 top buttons / unknown or missing type of a top button |
//! | 40018 / 40019 / 40020 | invalid button name / key / url size | top button name not 1..16 bytes, key not 1..128 bytes, url not 1..1024 bytes |
//! | 40022 | invalid sub_menu level | a sub-button with sub-buttons |
//! | 40023 / 40024 | invalid sub button size / type | more than 5 sub-buttons / unknown type of a sub-button |
//! | 40025 / 40026 / 40027 | invalid sub button name / key / url size | sub name not 1..60 bytes, key, url |
//! | 40054 / 40055 | invalid (sub) button url domain | a view url that is not http(s) |
//! | 40029 | invalid code | OAuth code unknown, or older than 5 minutes (40029 is "不合法或已过期的code") |
//! | 40163 | code been used | OAuth code used a second time |
//! | 40032 | invalid openid list size | tagging lists not 1..50; user/info/batchget not 1..100 *(choice)*; mass/send over 10 000 *(choice)* |
//! | 40130 | at least two openid | mass/send with fewer than 2 openids |
//! | 40035 | invalid args | mass/get and mass/delete unknown msg_id, draft/batchget count not 1..20, sendall without filter, QR expire_seconds ≤ 0 *(choice)* |
//! | 40037 | invalid template_id | template/send, bizsend with an unregistered template |
//! | 40050 | invalid tag (group) id | sendall filter with an unknown tag_id *(choice; the filter's field was once group_id)* |
//! | 40052 | invalid action name | QR action_name not QR_SCENE/QR_STR_SCENE/QR_LIMIT_SCENE/QR_LIMIT_STR_SCENE |
//! | 40053 | invalid action info | QR scene_id 0 or out of range (temp: 32-bit non-zero; permanent: 1..100000), scene_str not 1..64 chars |
//! | 40125 | invalid appsecret | token calls and sns/oauth2/access_token with a wrong secret |
//! | 40132 | invalid WeChat ID | mass/preview towxname nobody has |
//! | 40165 / 40166 | invalid weapp pagepath / appid | miniprogram menu buttons and miniprogrampage messages |
//! | 41001 | access_token missing | any token-taking API |
//! | 41002 / 41004 | appid / secret missing | token calls, sns |
//! | 41005 | media data missing | uploads without a multipart `media` part |
//! | 41008 / 41009 | code / openid missing | sns/oauth2/access_token / user/info |
//! | 42001 | access_token expired | a token past its 7200 s (classic: 5 min after being replaced) |
//! | 43004 | require subscribe | custom send, template send, preview to a user who does not follow (the reference also allows 45015 for custom send; 43004 is the more precise one) |
//! | 43101 | user refuse to accept the msg | bizsend without an accepted subscription ([`Simulator::accept_subscribe_message`]) |
//! | 44001 / 44002 | empty media / post data | empty upload / empty body |
//! | 44003 | empty news data | draft without articles, title or content; custom news without articles |
//! | 44004 | empty content | text without content (custom, mass) |
//! | 45002 / 45003 / 45004 / 45005 / 45110 | content / title / description / url / author size | draft article content ≥20 000 chars or ≥1 MB, title >32 chars, digest >128, source url >1 KB, author >16 |
//! | 45008 | article size out of limit | custom news with more than 1 article; draft with more than 8 |
//! | 45015 | response out of time limit | custom send with no open customer-service window |
//! | 45028 | has no masssend quota | sendall/send to a follower who already received the monthly quota (service account: 4 mass messages per follower per calendar month, China time; [`SimConfig::mass_quota_per_month`]) |
//! | 45029 | qrcode count out of limit | more than 100 000 permanent QR codes |
//! | 45047 | out of response count limit | custom send when the open windows are used up (5 per 48 h after a message, 3 per minute after a click/scan/follow) |
//! | 45056 / 45058 / 45059 | too many tags / sys tag / user tag limit | >100 tags; update/delete of tag 0, 1, 2; a 21st tag on a user |
//! | 45064 | weapp not linked | miniprogram menu button for a mini program not linked ([`Simulator::link_miniprogram`]) |
//! | 45065 | clientmsgid exist | sendall/send with a clientmsgid used in the last 24 h (after its first minute); carries `msg_id` (and `msg_data_id`) of the existing job |
//! | 45066 | clientmsgid retry too fast | the same clientmsgid within one minute |
//! | 45067 | clientmsgid size out of limit | clientmsgid over 64 characters |
//! | 45072 / 45080 | command invalid / typing needs interaction | custom/typing |
//! | 45157 / 45158 / 45159 | invalid tag name / too long / invalid tag id | tags: empty or duplicate name, name >30 bytes, unknown tag id |
//! | 46003 | menu no exist | menu/get with no menu |
//! | 47001 | data format error | body not a JSON object, missing message object |
//! | 47003 | argument invalid | template/bizsend `data` missing, a value not a string, or over its type's length (thing 20, character_string/number/letter 32, symbol/phrase 5, name 10, phone_number 17, car_number 8) |
//! | 48001 | api unauthorized | /sns/userinfo with a snsapi_base token |
//!
//! The OAuth authorize page is not an API: its errors are an HTTP 400 text page naming WeChat's
//! page codes (10003 redirect_uri domain, 10005 scope, 10010 scope missing, 10011 redirect_uri
//! missing, 10012 appid missing).
//!
//! Not simulated: rate limits (45009/45011, stable_token force_refresh 20/day), the IP allowlist
//! (40164), content security review, `freepublish`, and the per-type text length of
//! customer-service messages (undocumented).

pub mod errcode;

mod api;
pub mod control;
mod menu;
pub mod multipart;
mod phone;
mod sim;
mod state;

use axum::Router;

pub use api::API_PATHS;
pub use phone::{
    MAX_RETRIES, Phone, PhoneConfig, PhoneError, PhoneSetupError, SERVICE_UNAVAILABLE, SendOptions, WECHAT_TIMEOUT, new_openid,
};
pub use sim::Simulator;
pub use state::{ApiCall, Draft, Fault, Follower, MassJob, PushKind, Pushed, QrCode, SimConfig};

/// The routers are built here, at the top, so the modules they come from never import the crate
/// root (the simulator's state and handle are leaves they share).
impl Simulator {
    /// WeChat's API paths at the router's root; nest it where the API base should be.
    pub fn api_router(&self) -> Router {
        api::router(self.clone())
    }

    /// The control endpoints at the router's root (see [`control`]).
    pub fn control_router(&self) -> Router {
        control::router(self.clone())
    }

    /// [`Self::api_router`] with [`Self::control_router`] under `/_control`.
    pub fn router(&self) -> Router {
        self.api_router().nest("/_control", self.control_router())
    }
}
