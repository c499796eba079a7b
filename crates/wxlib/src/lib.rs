//! wxlib: the server behind a university library's WeChat Official Account.
//!
//! The modules are layers; each imports only from the layers above it in this list
//! (ARCHITECTURE.md at the repository root draws the map):
//!
//! * leaves: [`lang`] (the reader's language, shared texts), [`clock`] (time and every date
//!   computation), [`web`] (HTML, URLs, the reader's session, the HTTP error edge), [`config`],
//!   [`working_hours`], [`recent`], [`telemetry`];
//! * the store: [`db`] — both databases, migrations, leases, the jobs table, the unit of work —,
//!   [`jobs`], the one runner of the background work, and [`backup`] (a copy of the store taken
//!   while serving, and restoring one);
//! * the front door: [`wechat`] — callback, journal, router, API client, outbox, followers;
//! * the shared context: [`services`];
//! * the features: [`catalog`], [`circulation`], [`partners`], [`answers`], [`consultation`],
//!   [`news`], [`activities`], [`broadcasts`], [`reach`], [`menu`], [`console`] (the librarians'
//!   pages' frame) and [`dashboard`]; each keeps its tables in its `store` module;
//! * composition: [`conversation`] (which feature answers which message), [`startup`] (the app
//!   as a value, every route and background job), [`health`] (`/healthz`, `/readyz`,
//!   `/metrics`), [`demo`].

pub mod activities;
pub mod answers;
pub mod backup;
pub mod broadcasts;
pub mod catalog;

pub mod circulation;
pub mod clock;
pub mod config;
pub mod console;
pub mod consultation;
pub mod conversation;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod health;
pub mod jobs;
pub mod lang;
pub mod menu;
pub mod news;
pub mod partners;
pub mod reach;
pub mod recent;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod web;
pub mod wechat;
pub mod working_hours;
