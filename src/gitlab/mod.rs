//! GitLab REST client (typed, thin) and a faithful fake GitLab.
//!
//! **API boundary:** only this module speaks GitLab JSON. Wire structs are private to
//! `client.rs` and converted by hand into [`Issue`], [`Note`] and [`User`].
//!
//! - [`client`]: the REST v4 client the daemon uses (re-exported here);
//! - [`fake`]: a faithful fake GitLab for tests and `sectriage demo`;
//! - [`webhook`]: webhook signature checks and payload parsing;
//! - [`time`]: GitLab's timestamp forms, the crate's one date parser (fake, webhook, poll cursor).

pub mod client;
pub mod fake;
pub mod time;
pub mod webhook;

pub use client::*;
