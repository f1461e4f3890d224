//! sectriage: first-step triage of QEMU security disclosures.
//!
//! # Layout
//! One module per pipeline stage, plus the knowledge base and the LLM edge:
//! - [`intake`]: turns what arrives (plain text, a GitLab issue, an eval case) into a report;
//! - [`triage`]: the pure core — hygiene, provenance, locator, decision;
//! - [`kb`]: the boundary knowledge base derived from QEMU's sources, plus its overlay;
//! - [`llm`]: the OpenAI-compatible edge (prompt, tokens, validation into enums);
//! - [`publish`]: the note a maintainer sees, built from our own template;
//! - [`engine`]: runs the stages for one report, shared by the CLI, the daemon and eval;
//! - [`eval`]: offline evaluation against labelled cases;
//! - [`gitlab`]: the GitLab REST edge and a faithful fake GitLab;
//! - [`queue`]: the durable job queue;
//! - [`output`]: stdout for the commands, where a closed pipe is a quiet end.
//!
//! `ARCHITECTURE.md` states each module's invariants.

pub mod config;
pub mod confirm;
pub mod daemon;
pub mod demo;
pub mod engine;
pub mod eval;
pub mod gitlab;
pub mod intake;
pub mod kb;
pub mod llm;
pub mod output;
pub mod publish;
pub mod queue;
pub mod review;
pub mod triage;
