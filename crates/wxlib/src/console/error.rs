//! The console's error edge: what a console handler fails with beyond bad input, as a page in both
//! languages with the right status; the failure behind it goes to the log.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::layout;
use crate::db::DbError;
use crate::lang::Lang;
use crate::web::error::Chain;

/// What a console handler can fail with beyond bad input (which handlers answer themselves with
/// the form and a message); turned into an error page at the edge.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Api(#[from] crate::wechat::api::ApiError),
    #[error("not found")]
    NotFound,
    /// Writing a CSV export.
    #[error("writing a CSV export: {0}")]
    Csv(#[from] csv::Error),
    /// A feature's own error (a poster that could not be made, …), kept with its causes.
    #[error(transparent)]
    Feature(Box<dyn std::error::Error + Send + Sync>),
}

impl<W> From<csv::IntoInnerError<W>> for ConsoleError {
    fn from(e: csv::IntoInnerError<W>) -> Self {
        ConsoleError::Csv(e.into_error().into())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, zh, en) = match &self {
            ConsoleError::NotFound => (StatusCode::NOT_FOUND, "找不到该页面或记录。", "No such page or record."),
            ConsoleError::Api(_) => {
                (StatusCode::BAD_GATEWAY, "微信接口调用失败，请稍后再试。", "The WeChat API call failed; please try again later.")
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "系统出错了，请稍后再试。", "Something went wrong; please try again later."),
        };
        if status.is_server_error() {
            tracing::error!(error = %Chain(&self), "console request failed");
        }
        let body = format!("{}<p class=\"muted\">{en}</p><p><a href=\"/console\">返回首页 / Home</a></p>", layout::flash_error(zh));
        (status, Html(layout::bare_page(Lang::Zh, &status.as_u16().to_string(), &body))).into_response()
    }
}
