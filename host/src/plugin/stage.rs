//! Running a stage plugin over one input: `create` with the arguments and context, `push` the
//! input, `finish`.

use serde_json::Value;

use crate::text::one_line;

use super::runtime::{StagePre, describe_trap, start_call};
use super::{Grant, PluginError, Registry, Runtime};

/// Runs stage plugin `name` over `input`; the error is one line that names the plugin.
pub async fn run_stage(
    runtime: &Runtime,
    registry: &Registry,
    grant: &Grant,
    name: &str,
    args: &[String],
    context: &Value,
    input: &str,
) -> Result<String, String> {
    let plugin = registry.get(name).ok_or_else(|| PluginError::NotFound(name.to_owned()).to_string())?;
    let pre = runtime.prepare_stage(plugin).map_err(|e| e.to_string())?;
    // A stage gets no network, whatever its manifest asks for.
    let grant = Grant { http: None, socket: None, ..grant.clone() };
    let mut store = runtime.store(name, &grant).map_err(|e| e.to_string())?;
    let context = context.to_string();
    // Watched as a transport's calls are: a sleep is stopped while it sleeps, not after.
    macro_rules! timed {
        ($call:expr) => {{
            let watch = start_call(&mut store);
            watch.run($call).await.map_err(|e| describe_trap(&store, &e))?
        }};
    }
    // Every version's stage interface has the same shape; only the generated types differ.
    macro_rules! drive {
        ($pre:expr) => {{
            let bindings = timed!($pre.instantiate_async(&mut store));
            let processor = bindings.aish_plugin_stage().processor();
            let handle = timed!(processor.call_create(&mut store, args, &context))
                .map_err(|e| format!("{name}: {}", one_line(&e, 1000)))?;
            let mut output = String::new();
            let ready = timed!(processor.call_push(&mut store, handle, input));
            output.push_str(&ready.map_err(|e| format!("{name}: {}", one_line(&e, 1000)))?);
            let rest = timed!(processor.call_finish(&mut store, handle));
            output.push_str(&rest.map_err(|e| format!("{name}: {}", one_line(&e, 1000)))?);
            // The output is complete; a drop that sleeps is cut short, and its error unneeded.
            let _ = start_call(&mut store).run(handle.resource_drop_async(&mut store)).await;
            Ok(output)
        }};
    }
    match pre {
        StagePre::V0_1(pre) => drive!(pre),
        StagePre::V0_2(pre) => drive!(pre),
        StagePre::V0_3(pre) => drive!(pre),
    }
}
