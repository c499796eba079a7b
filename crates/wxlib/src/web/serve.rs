//! The HTTP/1 server loop (in place of `axum::serve`, which takes no settings): a request whose
//! head has not arrived within `header_read_timeout` is closed (a half-sent request cannot hold a
//! connection open; an idle keep-alive connection is closed after as long), and every request
//! but WeChat's callback carries its socket's [`Peer`] for [`ClientAddr`](super::client::ClientAddr).
//! On shutdown it stops accepting and lets the requests in flight finish.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

use super::client::{Peer, TrustedProxies};

/// How the server treats its connections.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// A request head (line and headers) must arrive within this, or the connection is closed.
    pub header_read_timeout: Duration,
    /// Whose `X-Forwarded-For` to believe.
    pub trusted: Arc<TrustedProxies>,
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(options.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let peer = Peer { addr, trusted: options.trusted.clone() };
        let service = WithPeer { router: router.clone(), peer };
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(peer = %addr, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Each request of one connection, into the router: with its [`Peer`], except on `/wechat`,
/// whose hot path needs no client address (WeChat's signature says who it is). A named service
/// rather than a closure, so the request's future is the router's own, not a boxed one.
#[derive(Clone)]
struct WithPeer {
    router: axum::Router,
    peer: Peer,
}

impl hyper::service::Service<hyper::Request<Incoming>> for WithPeer {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = tower::util::Oneshot<axum::Router, axum::extract::Request>;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let mut req = req.map(Body::new);
        if req.uri().path() != "/wechat" {
            req.extensions_mut().insert(self.peer.clone());
        }
        self.router.clone().oneshot(req)
    }
}

/// An accept error: a connection that failed on the way in is the client's problem; anything
/// else (out of file descriptors) is waited out, as axum's server does.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
