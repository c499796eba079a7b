//! The librarians' console: server-rendered pages under `/console`, in Chinese (default) and
//! English. This module owns sign-in, sessions, CSRF protection, roles and the audit log
//! ([`auth`], [`audit`]), the page frame ([`layout`]) and librarian management; each feature's
//! pages are its own router nested here, so they all sit behind the same guard: a handler only
//! ever sees a signed-in [`Librarian`] and, for POSTs, a request with the session's CSRF token.
//!
//! A feature adds its section with one `.nest("/path", crate::feature::console_routes())` line in
//! `startup`'s list of sections, taking [`Librarian`] or [`Admin`] as an extractor, rendering
//! with [`layout::page`], putting [`layout::csrf_field`] in every POST form and calling [`audit`]
//! for every change or send. The console knows no feature; its home page is [`crate::dashboard`].

pub mod audit;
pub mod auth;
pub mod csv;
mod error;
pub mod layout;
pub mod librarians;
mod store;

use axum::routing::{get, post};

pub use audit::{audit, audit_system};
pub use auth::{Admin, Librarian, Role};
pub use error::ConsoleError;

use crate::services::Services;

/// `/console`: sign-in, the librarians and the audit log, and every feature's `sections` (nested
/// by `startup`), all behind the session + CSRF guard.
pub fn routes(services: Services, sections: axum::Router<Services>) -> axum::Router {
    let guarded = axum::Router::<Services>::new()
        .route("/logout", post(auth::logout))
        .route("/librarians", get(librarians::list).post(librarians::add))
        .route("/librarians/{id}/password", post(librarians::reset_password))
        .route("/librarians/{id}/disable", post(librarians::disable))
        .route("/librarians/{id}/enable", post(librarians::enable))
        .route("/audit", get(audit::audit_page))
        // The features' sections go in before the guard layer: a layer only wraps the routes
        // added before it.
        .merge(sections)
        .layer(axum::middleware::from_fn_with_state(services.clone(), auth::require_session));
    let open = axum::Router::<Services>::new().route("/login", get(auth::login_page).post(auth::login_submit));
    axum::Router::new().nest("/console", open.merge(guarded)).with_state(services)
}
