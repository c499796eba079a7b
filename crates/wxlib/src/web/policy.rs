//! What browsers are told to enforce on every answer of the app (reader pages, the console, the
//! JSON API, the callback): one layer, [`security_headers`], added in `startup`; and [`SCRIPT`],
//! the one script the pages use, served from our origin because the policy runs no inline script.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// `default-src 'self'`: every script, image, fetch and frame comes from our origin (no CDN,
/// no WeChat JS-SDK: the pages use none). Scripts: only files (`script-src 'self'`), no inline
/// script or handler. Styles: `'unsafe-inline'`, because the page frames carry their CSS in a
/// `<style>` element and many pages set `style=` attributes; a style cannot run code.
/// `frame-ancestors 'self'`: no other site can frame a page (clickjacking); `'self'` and not
/// `'none'` because the simulator's phone (`/sim`, same origin) shows reader pages in its
/// web view, as WeChat's in-app browser would. `object-src 'none'`, `base-uri 'none'`: no
/// plugins, no `<base>` redirecting relative links.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'self'";

/// The headers every answer gets. A handler that set its own `Content-Security-Policy` keeps it
/// (the simulator's phone page). The console sends no referrer at all (its URLs name readers and
/// records); other pages send only the origin to other sites.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let console = req.uri().path().starts_with("/console");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // For browsers without CSP level 2 (frame-ancestors).
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    let referrer = if console { "no-referrer" } else { "strict-origin-when-cross-origin" };
    h.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static(referrer));
    res
}

/// The pages' one script (`/static/wxlib.js`): a `[data-poll]` marker reloads the element named by
/// its `data-poll-target` from its URL every two seconds (the librarians' inbox); a `<select
/// data-append-to=ID>` appends its choice to that text area (canned answers); a form with
/// `data-confirm` asks first.
pub const SCRIPT: &str = r#"(function () {
  document.querySelectorAll('[data-poll]').forEach(function (m) {
    var el = document.getElementById(m.getAttribute('data-poll-target')), url = m.getAttribute('data-poll');
    if (!el) return;
    setInterval(function () {
      fetch(url, {credentials: 'same-origin', cache: 'no-store'})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (h) { if (h !== null && h !== el.innerHTML) { el.innerHTML = h; } })
        .catch(function () {});
    }, 2000);
  });
  document.addEventListener('change', function (e) {
    var s = e.target, id = s.getAttribute && s.getAttribute('data-append-to');
    if (!id || !s.value) return;
    var a = document.getElementById(id);
    a.value = (a.value ? a.value + '\n' : '') + s.value;
    s.selectedIndex = 0;
  });
  document.addEventListener('submit', function (e) {
    var q = e.target.getAttribute && e.target.getAttribute('data-confirm');
    if (q && !window.confirm(q)) e.preventDefault();
  });
})();
"#;

/// `GET /static/wxlib.js`.
pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], SCRIPT).into_response()
}
