//! wxlib's side of WeChat: the callback endpoint, the router handlers plug into, retry
//! de-duplication, the server-API client and the customer-service outbox. The wire format itself
//! lives in the `wechat` crate.

pub mod api;
pub mod callback;
pub mod journal;
pub mod outbox;
pub mod router;
