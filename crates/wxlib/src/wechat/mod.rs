//! wxlib's side of WeChat, the front door: the callback endpoint, the router handlers plug into,
//! the callback journal (retry de-duplication, the event log, follows and customer-service
//! windows in one group commit), the server-API client, the customer-service outbox, template
//! messages as the account defines them ([`templates`]), and their tables ([`store`]). It knows the store and the leaves below it, never a feature: the callback
//! is handed the conversation (a [`router::Router`]) as a value. The wire format itself lives in
//! the `wechat` crate.

pub mod api;
pub mod callback;
pub mod followers;
pub mod journal;
pub mod outbox;
pub mod router;
pub mod store;
pub mod templates;
