//! Running a stage plugin (WebAssembly, or trusted native code) over the whole previous output.

use std::time::Instant;

use serde_json::Value;

use super::{Command, StageResult};
use crate::transport::Connector;

/// Runs stage plugin `command` over `input`; a failure is an error line that names the plugin.
pub(crate) async fn run_plugin(connector: &Connector, command: &Command, context: &Value, input: &str) -> StageResult {
    let started = Instant::now();
    let mut result = StageResult::empty(&command.name, "stage", false);
    let outcome = if connector.registry().native(&command.name).is_some() {
        run_native(connector, command, context, input).await
    } else {
        match connector.grant(&command.name, &[]) {
            Ok(grant) => {
                let run = crate::plugin::stage::run_stage(
                    connector.runtime(),
                    connector.registry(),
                    &grant,
                    &command.name,
                    &command.args,
                    context,
                    input,
                    connector.kept_stages(&command.name),
                );
                tokio::select! {
                    outcome = run => outcome,
                    _ = super::interrupt::ctrl_c() => Err(format!("{}: stopped by Ctrl-C", command.name)),
                }
            }
            Err(e) => Err(e.message),
        }
    };
    match outcome {
        Ok(text) => result.response = text.into(),
        Err(error) => {
            let named = if error.starts_with(&format!("{}: ", command.name)) {
                error
            } else {
                format!("{}: {error}", command.name)
            };
            result.error = Some(named);
        }
    }
    result.elapsed = started.elapsed();
    result
}

/// Runs a trusted native stage plugin on a blocking thread (native code cannot be stopped
/// midway; Ctrl-C returns at once and its result is dropped).
async fn run_native(connector: &Connector, command: &Command, context: &Value, input: &str) -> Result<String, String> {
    let library = connector.native_stage(&command.name).map_err(|e| e.to_string())?;
    let (args, context, input) = (command.args.clone(), context.to_string(), input.to_owned());
    let task = tokio::task::spawn_blocking(move || library.run(&args, &context, &input));
    tokio::select! {
        joined = task => joined.unwrap_or_else(|e| Err(format!("the plugin crashed: {e}"))),
        _ = super::interrupt::ctrl_c() => Err("stopped by Ctrl-C".into()),
    }
}
