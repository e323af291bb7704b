//! Running a stage plugin over one input: `create` with the arguments and context, `push` the
//! input, `finish`, in a fresh instance or one kept from the stage's last clean run.

use std::sync::Arc;

use serde_json::Value;
use wasmtime::Store;

use crate::text::one_line;

use super::kept::{self, Kept};
use super::runtime::{HostState, StagePre, describe_trap, start_call};
use super::{Grant, PluginError, Registry, Runtime, v0_1_0, v0_2_0, v0_3_0};

/// A stage instance's exports, by the contract version it was built against.
pub(crate) enum StageBindings {
    V0_1(v0_1_0::stage::StagePlugin),
    V0_2(v0_2_0::stage::StagePlugin),
    V0_3(v0_3_0::stage::StagePlugin),
}

type Instance = kept::Instance<StageBindings>;

/// Runs stage plugin `name` over `input`; the error is one line that names the plugin. With
/// `kept`, the run takes an instance kept there from an earlier clean run, if one fits, and
/// its instance is kept there after a clean run.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_stage(
    runtime: &Runtime,
    registry: &Registry,
    grant: &Grant,
    name: &str,
    args: &[String],
    context: &Value,
    input: &str,
    kept: Option<&Arc<Kept<StageBindings>>>,
) -> Result<String, String> {
    let plugin = registry.get(name).ok_or_else(|| PluginError::NotFound(name.to_owned()).to_string())?;
    // A stage gets no network, whatever its manifest asks for.
    let grant = Grant { http: None, socket: None, ..grant.clone() };
    let (instance, home) = match kept {
        Some(kept) => {
            let (instance, home) = kept.take(name, plugin.digest, &grant, None);
            (instance, Some(home))
        }
        None => (None, None),
    };
    let Instance { mut store, bindings } = match instance {
        Some(instance) => instance,
        None => {
            let pre = runtime.prepare_stage(plugin).map_err(|e| e.to_string())?;
            let mut store = runtime.store(name, &grant).map_err(|e| e.to_string())?;
            let bindings = instantiate(&mut store, pre).await?;
            Instance { store, bindings }
        }
    };
    let (output, dropped) = drive(&mut store, &bindings, name, args, &context.to_string(), input).await?;
    // Only an instance whose processor is gone, dropped in time, serves another run.
    if let (true, Some(home)) = (dropped, home) {
        home.keep(Instance { store, bindings });
    }
    Ok(output)
}

/// Instantiates a prepared stage in `store`.
async fn instantiate(store: &mut Store<HostState>, pre: StagePre) -> Result<StageBindings, String> {
    let watch = start_call(store);
    match pre {
        StagePre::V0_1(pre) => watch.run(pre.instantiate_async(&mut *store)).await.map(StageBindings::V0_1),
        StagePre::V0_2(pre) => watch.run(pre.instantiate_async(&mut *store)).await.map(StageBindings::V0_2),
        StagePre::V0_3(pre) => watch.run(pre.instantiate_async(&mut *store)).await.map(StageBindings::V0_3),
    }
    .map_err(|e| describe_trap(store, &e))
}

/// One run through a processor: its output, and whether the processor was then dropped
/// cleanly (a drop that traps or sleeps is cut short, and the output stands).
async fn drive(
    store: &mut Store<HostState>,
    bindings: &StageBindings,
    name: &str,
    args: &[String],
    context: &str,
    input: &str,
) -> Result<(String, bool), String> {
    // Watched as a transport's calls are: a sleep is stopped while it sleeps, not after.
    macro_rules! timed {
        ($call:expr) => {{
            let watch = start_call(store);
            watch.run($call).await.map_err(|e| describe_trap(store, &e))?
        }};
    }
    // Every version's stage interface has the same shape; only the generated types differ.
    macro_rules! each_version {
        ($bindings:expr) => {{
            let processor = $bindings.aish_plugin_stage().processor();
            let handle = timed!(processor.call_create(&mut *store, args, context))
                .map_err(|e| format!("{name}: {}", one_line(&e, 1000)))?;
            let mut output = String::new();
            let ready = timed!(processor.call_push(&mut *store, handle, input));
            output.push_str(&ready.map_err(|e| format!("{name}: {}", one_line(&e, 1000)))?);
            let rest = timed!(processor.call_finish(&mut *store, handle));
            output.push_str(&rest.map_err(|e| format!("{name}: {}", one_line(&e, 1000)))?);
            let dropped = start_call(store).run(handle.resource_drop_async(&mut *store)).await.is_ok();
            Ok((output, dropped))
        }};
    }
    match bindings {
        StageBindings::V0_1(bindings) => each_version!(bindings),
        StageBindings::V0_2(bindings) => each_version!(bindings),
        StageBindings::V0_3(bindings) => each_version!(bindings),
    }
}
