//! The WeChat global return codes the simulator answers with, and their standard `errmsg` texts.
//!
//! Numbers and English texts are WeChat's own (the official 全局返回码 list, as mirrored by WxJava's
//! `WxMpErrorMsgEnum` and the SDK error tables); see the crate documentation for which endpoint
//! returns which code and why.

use serde_json::{Map, Value};

pub const SYSTEM_BUSY: i64 = -1;
pub const OK: i64 = 0;
pub const INVALID_CREDENTIAL: i64 = 40001;
pub const INVALID_GRANT_TYPE: i64 = 40002;
pub const INVALID_OPENID: i64 = 40003;
pub const INVALID_MEDIA_TYPE: i64 = 40004;
pub const INVALID_FILE_TYPE: i64 = 40005;
pub const INVALID_FILE_SIZE: i64 = 40006;
pub const INVALID_MEDIA_ID: i64 = 40007;
pub const INVALID_MESSAGE_TYPE: i64 = 40008;
pub const INVALID_IMAGE_SIZE: i64 = 40009;
pub const INVALID_APPID: i64 = 40013;
pub const INVALID_BUTTON_SIZE: i64 = 40016;
pub const INVALID_BUTTON_TYPE: i64 = 40017;
pub const INVALID_BUTTON_NAME_SIZE: i64 = 40018;
pub const INVALID_BUTTON_KEY_SIZE: i64 = 40019;
pub const INVALID_BUTTON_URL_SIZE: i64 = 40020;
pub const INVALID_SUB_MENU_LEVEL: i64 = 40022;
pub const INVALID_SUB_BUTTON_SIZE: i64 = 40023;
pub const INVALID_SUB_BUTTON_TYPE: i64 = 40024;
pub const INVALID_SUB_BUTTON_NAME_SIZE: i64 = 40025;
pub const INVALID_SUB_BUTTON_KEY_SIZE: i64 = 40026;
pub const INVALID_SUB_BUTTON_URL_SIZE: i64 = 40027;
pub const INVALID_CODE: i64 = 40029;
pub const INVALID_OPENID_LIST_SIZE: i64 = 40032;
pub const INVALID_ARGS: i64 = 40035;
pub const INVALID_TEMPLATE_ID: i64 = 40037;
pub const INVALID_GROUP_ID: i64 = 40050;
pub const INVALID_ACTION_NAME: i64 = 40052;
pub const INVALID_ACTION_INFO: i64 = 40053;
pub const INVALID_SUB_BUTTON_URL_DOMAIN: i64 = 40054;
pub const INVALID_BUTTON_URL_DOMAIN: i64 = 40055;
pub const INVALID_APPSECRET: i64 = 40125;
pub const INVALID_OPENID_LIST_MIN: i64 = 40130;
pub const INVALID_WECHAT_ID: i64 = 40132;
pub const CODE_BEEN_USED: i64 = 40163;
pub const INVALID_WEAPP_PAGEPATH: i64 = 40165;
pub const INVALID_WEAPP_APPID: i64 = 40166;
pub const ACCESS_TOKEN_MISSING: i64 = 41001;
pub const APPID_MISSING: i64 = 41002;
pub const APPSECRET_MISSING: i64 = 41004;
pub const MEDIA_DATA_MISSING: i64 = 41005;
pub const MEDIA_ID_MISSING: i64 = 41006;
pub const CODE_MISSING: i64 = 41008;
pub const OPENID_MISSING: i64 = 41009;
pub const ACCESS_TOKEN_EXPIRED: i64 = 42001;
pub const REQUIRE_SUBSCRIBE: i64 = 43004;
pub const USER_REFUSE: i64 = 43101;
pub const EMPTY_MEDIA_DATA: i64 = 44001;
pub const EMPTY_POST_DATA: i64 = 44002;
pub const EMPTY_NEWS_DATA: i64 = 44003;
pub const EMPTY_CONTENT: i64 = 44004;
pub const EMPTY_LIST: i64 = 44005;
pub const MEDIA_SIZE_OUT_OF_LIMIT: i64 = 45001;
pub const CONTENT_SIZE_OUT_OF_LIMIT: i64 = 45002;
pub const TITLE_SIZE_OUT_OF_LIMIT: i64 = 45003;
pub const DESCRIPTION_SIZE_OUT_OF_LIMIT: i64 = 45004;
pub const URL_SIZE_OUT_OF_LIMIT: i64 = 45005;
pub const ARTICLE_SIZE_OUT_OF_LIMIT: i64 = 45008;
pub const RESPONSE_OUT_OF_TIME: i64 = 45015;
pub const NO_MASSSEND_QUOTA: i64 = 45028;
pub const QRCODE_COUNT_OUT_OF_LIMIT: i64 = 45029;
pub const OUT_OF_RESPONSE_COUNT_LIMIT: i64 = 45047;
pub const TOO_MANY_TAGS: i64 = 45056;
pub const CANNOT_MODIFY_SYS_TAG: i64 = 45058;
pub const USER_TAG_LIMIT: i64 = 45059;
pub const WEAPP_NOT_LINKED: i64 = 45064;
pub const CLIENTMSGID_EXIST: i64 = 45065;
pub const CLIENTMSGID_RETRY_TOO_FAST: i64 = 45066;
pub const CLIENTMSGID_TOO_LONG: i64 = 45067;
pub const INVALID_COMMAND: i64 = 45072;
pub const TYPING_NEEDS_INTERACTION: i64 = 45080;
pub const AUTHOR_SIZE_OUT_OF_LIMIT: i64 = 45110;
pub const INVALID_TAG_NAME: i64 = 45157;
pub const TAG_NAME_TOO_LONG: i64 = 45158;
pub const INVALID_TAG_ID: i64 = 45159;
pub const MENU_NO_EXIST: i64 = 46003;
pub const DATA_FORMAT_ERROR: i64 = 47001;
pub const ARGUMENT_INVALID: i64 = 47003;
pub const API_UNAUTHORIZED: i64 = 48001;
pub const DATE_FORMAT_ERROR: i64 = 61500;
pub const DATE_RANGE_ERROR: i64 = 61501;

/// WeChat's standard `errmsg` text for a code (without the ` rid: …` suffix).
pub fn errmsg(code: i64) -> &'static str {
    match code {
        -1 => "system error",
        0 => "ok",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40003 => "invalid openid",
        40004 => "invalid media type",
        40005 => "invalid file type",
        40006 => "invalid file size",
        40007 => "invalid media_id",
        40008 => "invalid message type",
        40009 => "invalid image size",
        40013 => "invalid appid",
        40014 => "invalid access_token",
        40016 => "invalid button size",
        40017 => "invalid button type",
        40018 => "invalid button name size",
        40019 => "invalid button key size",
        40020 => "invalid button url size",
        40022 => "invalid sub_menu level",
        40023 => "invalid sub button size",
        40024 => "invalid sub button type",
        40025 => "invalid sub button name size",
        40026 => "invalid sub button key size",
        40027 => "invalid sub button url size",
        40029 => "invalid code",
        40032 => "invalid openid list size",
        40035 => "invalid args",
        40037 => "invalid template_id",
        40050 => "invalid tag id",
        40052 => "invalid action name",
        40053 => "invalid action info, please check document",
        40054 => "invalid sub button url domain",
        40055 => "invalid button url domain",
        40125 => "invalid appsecret",
        40130 => "invalid openid list size, at least two openid",
        40132 => "invalid username",
        40163 => "code been used",
        40165 => "invalid weapp pagepath",
        40166 => "invalid weapp appid",
        41001 => "access_token missing",
        41002 => "appid missing",
        41004 => "appsecret missing",
        41005 => "media data missing",
        41006 => "media_id missing",
        41008 => "missing code",
        41009 => "missing openid",
        42001 => "access_token expired",
        43004 => "require subscribe",
        43101 => "user refuse to accept the msg",
        44001 => "empty media data",
        44002 => "empty post data",
        44003 => "empty news data",
        44004 => "empty content",
        44005 => "empty list size",
        45001 => "media size out of limit",
        45002 => "content size out of limit",
        45003 => "title size out of limit",
        45004 => "description size out of limit",
        45005 => "url size out of limit",
        45008 => "article size out of limit",
        45009 => "reach max api daily quota limit",
        45015 => "response out of time limit or subscription is canceled",
        45028 => "has no masssend quota",
        45029 => "qrcode count out of limit",
        45047 => "out of response count limit",
        45056 => "too many tags",
        45058 => "can't modify sys tag",
        45059 => "too many tag now, no need to add new",
        45064 => "no permission to use weapp in menu",
        45065 => "clientmsgid exist",
        45066 => "same clientmsgid retry too fast",
        45067 => "clientmsgid size out of limit",
        45072 => "command invalid",
        45080 => "need interaction with user before typing",
        45110 => "author size out of limit",
        45157 => "invalid tag name",
        45158 => "tag name too long",
        45159 => "invalid tag id",
        46003 => "menu no exist",
        47001 => "data format error",
        47003 => "argument invalid!",
        48001 => "api unauthorized",
        61500 => "date format error",
        61501 => "date range error",
        _ => "error",
    }
}

/// An error answer: `{"errcode":N,"errmsg":"… rid: …"}` plus optional extra fields (45065 carries
/// the existing `msg_id`).
#[derive(Debug, Clone)]
pub(crate) struct ApiErr {
    pub code: i64,
    pub msg: String,
    pub extra: Map<String, Value>,
}

impl ApiErr {
    pub fn new(code: i64) -> Self {
        Self { code, msg: errmsg(code).to_owned(), extra: Map::new() }
    }

    /// WeChat appends a hint naming the offending field, e.g. `argument invalid! data.thing1.value invalid`.
    pub fn hint(code: i64, hint: impl std::fmt::Display) -> Self {
        Self { code, msg: format!("{} hint: [{}]", errmsg(code), hint), extra: Map::new() }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }
}

pub(crate) fn err<T>(code: i64) -> Result<T, ApiErr> {
    Err(ApiErr::new(code))
}

pub(crate) fn err_hint<T>(code: i64, hint: impl std::fmt::Display) -> Result<T, ApiErr> {
    Err(ApiErr::hint(code, hint))
}
