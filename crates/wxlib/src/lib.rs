//! wxlib: the server behind a university library's WeChat Official Account.
//!
//! The tree follows the product: [`wechat`] is the front door (callback, router, dedupe, API
//! client, outbox), [`followers`] who follows and what they did, [`chat`] what readers see.
//! [`catalog`] the OPAC: MARC import, search index, chat and web search.
//! [`circulation`] borrowing: binding, loans, renewals, holds, reminders, on the built-in
//! library system or over SIP2.
//! [`partners`] partner libraries over SRU: our catalog at `/sru`, federated search of theirs.
//! [`console`] the librarians' web console (sign-in, roles, CSRF, audit; each feature's pages).
//! [`news`] library news: opening hours, new resources, the freshman guide and About us.
//! [`activities`] library activities: announcement, sign-up, reminder, QR check-in, report,
//! feedback.
//! [`reach`] channels with QR posters and attribution, referral codes, auditable draws, analytics.
//! [`db`] is the store every feature adds tables to; [`startup`] builds the app as a value.

pub mod activities;
pub mod answers;
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
