//! Parametric QR scenes, routed by prefix. A reader who scans one of the account's codes arrives
//! as a `SCAN` event (a follower; `EventKey` is the scene) or as a follow through the code
//! (`subscribe` with `qrscene_<scene>`, already stripped by the parser). Each feature that prints
//! codes owns a prefix and has one line in [`SCENES`]; scenes nobody owns (the entrance poster,
//! channel codes) only count for attribution. A follow still gets the welcome, with the scene's
//! answer after it.

use std::sync::Arc;

use wechat::{Event, Inbound, InboundKind, Reply};

use crate::services::Services;
use crate::wechat::router::{HandlerError, HandlerFuture};

/// Answers a scan of a scene with the given prefix; gets the rest of the scene after the prefix.
pub type SceneHandler = fn(Services, Arc<Inbound>, String) -> HandlerFuture;

/// Scene prefix → handler.
pub const SCENES: &[(&str, SceneHandler)] = &[
    (crate::activities::SCENE_PREFIX, |s, m, rest| Box::pin(crate::activities::chat::checkin_scene(s, m, rest))),
    (crate::reach::REFERRAL_PREFIX, |s, m, rest| Box::pin(crate::reach::referral_scene(s, m, rest))),
];

/// The handler and the rest of the scene, for a scene some feature owns.
fn dispatch(scene: &str) -> Option<(SceneHandler, String)> {
    SCENES.iter().find_map(|(prefix, h)| scene.strip_prefix(prefix).map(|rest| (*h, rest.to_owned())))
}

/// `SCAN`: the scene's answer, or nothing for scenes nobody owns.
pub async fn on_scan(s: Services, m: Arc<Inbound>) -> Result<Reply, HandlerError> {
    let InboundKind::Event(Event::Scan { scene, .. }) = &m.kind else { return Ok(Reply::Success) };
    match dispatch(scene) {
        Some((h, rest)) => h(s, m.clone(), rest).await,
        None => Ok(Reply::Success),
    }
}

/// `subscribe`: the welcome (whatever `welcome` answers), then the scene's answer when the follow
/// came through a code some feature owns.
pub async fn on_subscribe<W, Fut>(s: Services, m: Arc<Inbound>, welcome: W) -> Result<Reply, HandlerError>
where
    W: FnOnce(Services, Arc<Inbound>) -> Fut,
    Fut: std::future::Future<Output = Result<Reply, HandlerError>>,
{
    let greeting = welcome(s.clone(), m.clone()).await?;
    let scene = match &m.kind {
        InboundKind::Event(Event::Subscribe { scene: Some(scene), .. }) => scene.clone(),
        _ => return Ok(greeting),
    };
    let Some((h, rest)) = dispatch(&scene) else { return Ok(greeting) };
    let answer = h(s.clone(), m.clone(), rest).await?;
    Ok(match (greeting, answer) {
        (Reply::Text { content: hello }, Reply::Text { content: scene_text }) => Reply::text(format!("{hello}\n\n{scene_text}")),
        (Reply::Success, answer) => answer,
        (greeting, answer) => {
            // One passive reply only: the scene's answer follows as a customer-service message
            // (a follow opens the window for a few of them).
            let key = format!("scene:{}:{}:{}", m.from_user, m.create_time, scene);
            if let Err(e) = s.push(&m.from_user, &answer, &key).await {
                tracing::warn!(error = %e, "could not queue the answer to a scanned code");
            }
            greeting
        }
    })
}
