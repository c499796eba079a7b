//! Routes an inbound message to its handler: by menu key (CLICK), by event, by message type (all
//! texts go to the `text` handler: the conversation's responders), else a catch-all; events
//! nobody handles get `success` (no reply). The router
//! knows no feature: the app builds one (the conversation) and hands it to the callback. A
//! handler gets the context `S` the app gives every message (its `Services`) and the message.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use wechat::{Event, Inbound, InboundKind, Reply};

/// What a handler can fail with; turned into an apology for the reader at the edge.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Api(#[from] super::api::ApiError),
    #[error(transparent)]
    Journal(#[from] super::journal::JournalError),
    /// A feature's own error (the catalog's index, …), kept with its causes for the log.
    #[error(transparent)]
    Feature(Box<dyn std::error::Error + Send + Sync>),
}

/// What a text responder says: `Some(reply)` when the text is its to answer, `None` to leave it
/// to the next responder (the conversation's list).
pub type Responded = Result<Option<Reply>, HandlerError>;

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Reply, HandlerError>> + Send>>;
pub type Handler<S> = Arc<dyn Fn(S, Arc<Inbound>) -> HandlerFuture + Send + Sync>;

/// Wraps an async function as a [`Handler`].
pub fn handler<S, F, Fut>(f: F) -> Handler<S>
where
    F: Fn(S, Arc<Inbound>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, HandlerError>> + Send + 'static,
{
    Arc::new(move |s, m| Box::pin(f(s, m)))
}

pub struct Router<S> {
    menu_keys: HashMap<String, Handler<S>>,
    events: HashMap<String, Handler<S>>,
    msg_types: HashMap<String, Handler<S>>,
    fallback: Handler<S>,
}

impl<S> Clone for Router<S> {
    fn clone(&self) -> Self {
        Self {
            menu_keys: self.menu_keys.clone(),
            events: self.events.clone(),
            msg_types: self.msg_types.clone(),
            fallback: self.fallback.clone(),
        }
    }
}

impl<S> Router<S> {
    pub fn new(fallback: Handler<S>) -> Self {
        Self { menu_keys: HashMap::new(), events: HashMap::new(), msg_types: HashMap::new(), fallback }
    }

    pub fn on_menu_key(mut self, key: &str, h: Handler<S>) -> Self {
        self.menu_keys.insert(key.to_owned(), h);
        self
    }

    /// Event names are matched case-insensitively (WeChat mixes `SCAN` and `subscribe`).
    pub fn on_event(mut self, event: &str, h: Handler<S>) -> Self {
        self.events.insert(event.to_ascii_lowercase(), h);
        self
    }

    pub fn on_msg_type(mut self, msg_type: &str, h: Handler<S>) -> Self {
        self.msg_types.insert(msg_type.to_owned(), h);
        self
    }

    /// The handler for a message, or `None` for an event nobody handles.
    pub fn route(&self, msg: &Inbound) -> Option<&Handler<S>> {
        match &msg.kind {
            InboundKind::Event(ev) => {
                if let Event::Click { key } = ev
                    && let Some(h) = self.menu_keys.get(key)
                {
                    return Some(h);
                }
                self.events.get(&ev.name().to_ascii_lowercase())
            }
            _ => self.msg_types.get(&msg.msg_type).or(Some(&self.fallback)),
        }
    }
}
