//! aish's integration tests: real servers on 127.0.0.1:0 started by each test, the compiled
//! WebAssembly plugins from `plugins/` and `tests/plugins/`, and the real `aish` binary.

mod support;

mod authoring;
mod cli;
mod conversations;
mod display;
mod hardening;
mod history;
mod hostile;
mod instances;
mod layout;
mod modern_dialects;
mod native;
mod ndjson;
mod pipeline;
mod plugins;
mod reconnect;
mod runtime_limits;
mod sandbox;
mod sdk;
mod shell;
mod sse;
mod stage_instances;
mod stages;
mod tekton;
mod transports;
mod websocket;
