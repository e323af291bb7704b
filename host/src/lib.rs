//! aish: an interactive shell for talking to AI services and chaining them.
//!
//! The crate is organised by concept:
//! - [`config`]: `config.toml`, the embedded default, and where aish keeps its files;
//! - [`plugin`]: the WebAssembly plugin runtime (loading, limits, capabilities, cache);
//! - [`transport`]: talking to one AI through a transport plugin;
//! - [`pipeline`]: the pipeline language and its execution;
//! - [`display`]: how a streaming answer is shown;
//! - [`history`]: the numbered text and JSON Lines history of every command;
//! - [`demo`]: the demo AIs aish serves itself when nothing is configured;
//! - [`shell`]: the interactive shell;
//! - [`cli`]: the command line.

pub mod cli;
pub mod config;
pub mod demo;
pub mod display;
pub mod history;
pub mod pipeline;
pub mod plugin;
pub mod shell;
pub mod transport;
