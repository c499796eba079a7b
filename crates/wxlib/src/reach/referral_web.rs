//! The referral poster a reader shares (`/ref/{scene}/poster.pdf`).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::services::Services;
use crate::web::error::WebError;

/// `GET /ref/{scene}/poster.pdf`.
pub fn routes(s: Services) -> axum::Router {
    axum::Router::new().route("/ref/{scene}/poster.pdf", axum::routing::get(referral_poster)).with_state(s)
}

/// `GET /ref/{scene}/poster.pdf`: a reader's referral poster (the scene is random, so only those
/// the reader shares it with know the address).
async fn referral_poster(State(s): State<Services>, Path(scene): Path<String>) -> Result<Response, WebError> {
    let url = match s.db.referral_url(&scene).await {
        Ok(Some(url)) => url,
        Ok(None) => return Err(WebError::text(StatusCode::NOT_FOUND, "没有这个推荐码 / no such referral code")),
        Err(e) => {
            return Err(
                WebError::text(StatusCode::INTERNAL_SERVER_ERROR, "系统出错了 / something went wrong").because("referral poster", e)
            );
        }
    };
    let fonts = [s.config.reach.poster_font.as_str(), s.config.reach.poster_font_fallback.as_str()];
    let pdf = super::poster::poster_pdf(&fonts, &s.config.library.name, "同学推荐你关注图书馆公众号", "读书节 · 推荐有礼", &url).map_err(
        |e| WebError::text(StatusCode::INTERNAL_SERVER_ERROR, "海报生成失败 / the poster could not be made").because("referral poster", e),
    )?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
