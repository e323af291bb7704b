//! aish: an interactive shell for talking to AI services and chaining them.
//!
//! The library is the engine; the `aish` binary (command line, interactive shell, demo AIs)
//! sits on top of it. A line flows one way, top to bottom:
//! - [`session`]: one run's state (context, memory, chosen transports) and its entry point;
//! - [`commands`]: what a line is: a built-in, `!N`, or a pipeline (then recorded);
//! - [`pipeline`]: the pipeline language, its plan and run, emitting stage events;
//! - [`transport`]: an answer from one AI: plugin sessions plus fallback, retry and resume;
//! - [`conversation`]: what each AI was told and answered, trimmed to fit its model;
//! - [`plugin`]: the WebAssembly plugin runtime (loading, limits, capabilities, cache);
//!
//! and the consumers of what a run produced: [`display`] (how answers look) and [`history`]
//! (what is kept). [`config`] is read by all of them.

pub mod commands;
pub mod config;
pub mod conversation;
pub mod display;
pub mod history;
pub mod pipeline;
pub mod plugin;
#[cfg(test)]
mod proptests;
pub mod session;
pub mod spool;
pub mod text;
pub mod transport;
