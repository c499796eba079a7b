//! The ceiling: POST /wechat reads the whole body (as wxlib does) and answers `success`.
//! Usage: wxlib-bench-ceiling 127.0.0.1:PORT

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;

async fn wechat(body: Bytes) -> &'static str {
    std::hint::black_box(body);
    "success"
}

fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8090".into());
    // Same runtime as `wxlib serve`: tokio's default multi-threaded runtime (one worker per core).
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let app = Router::new().route("/wechat", post(wechat)).route("/healthz", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        axum::serve(listener, app).await.expect("serve");
    });
}
