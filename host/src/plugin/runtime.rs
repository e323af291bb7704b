//! The wasmtime engine, the limits every plugin runs under, and instantiation.
//!
//! The compute limit counts the time a guest call runs, its host calls included, less the time
//! host calls spent waiting on I/O, measured. A host call's first millisecond (the resolution of
//! the host's timers) always counts: a plugin that loops on host calls that return at once, or
//! that wait only on a zero timeout (a socket read with no wait), is stopped like one that loops
//! on its own, while a call that waits for the network longer is free beyond that.

mod clock;
mod stderr;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use self::stderr::StderrSink;

use super::bindings::{v0_1_0, v0_2_0, v0_3_0};
use super::cache::ComponentCache;
use super::host_http::HttpGrant;
use super::host_socket::SocketGrant;
use super::registry::Plugin;
use super::{PluginError, SUPPORTED_WIT_VERSIONS};

/// How often the engine's epoch advances: the granularity of the compute limit.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Default memory limit per plugin instance.
pub const DEFAULT_MEMORY_LIMIT: usize = 64 << 20;
/// Default compute limit: how long a plugin may run without returning or waiting on I/O.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(2);

/// The limits a plugin runs under, memory (in bytes) and compute per call: the user's setting
/// (`[plugins.NAME]`), else what the plugin declared it needs, else the host's default. One
/// rule for what runs and what `plugin info` and `plugin add` report.
pub fn granted_limits(user: &crate::config::PluginConfig, declared: &super::manifest::Limits) -> (usize, Duration) {
    // Both are bounded when read (at most 4 GiB); saturating keeps a 32-bit host from wrapping.
    let bytes = |mb: u64| usize::try_from(mb).ok().and_then(|mb| mb.checked_mul(1 << 20)).unwrap_or(usize::MAX);
    let memory = user.memory_limit_mb.or(declared.memory_limit_mb).map_or(DEFAULT_MEMORY_LIMIT, bytes);
    let time = user.time_limit_ms.or(declared.time_limit_ms).map_or(DEFAULT_TIME_LIMIT, Duration::from_millis);
    (memory, time)
}

/// What one plugin instance is allowed: capabilities and limits.
#[derive(Clone)]
pub struct Grant {
    /// Outbound HTTP, if granted.
    pub http: Option<HttpGrant>,
    /// Outbound TCP and TLS connections, if granted.
    pub socket: Option<SocketGrant>,
    /// Most linear memory, in bytes.
    pub memory_limit: usize,
    /// Most uninterrupted compute per call.
    pub time_limit: Duration,
}

impl Grant {
    /// Whether an instance made under `other` has exactly what this grant allows: the same
    /// capabilities (the very ones, made once per plugin and host list) and the same limits.
    pub(crate) fn is(&self, other: &Grant) -> bool {
        fn same<T>(a: &Option<T>, b: &Option<T>, is: impl Fn(&T, &T) -> bool) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => is(a, b),
                (a, b) => a.is_none() && b.is_none(),
            }
        }
        same(&self.http, &other.http, HttpGrant::is)
            && same(&self.socket, &other.socket, SocketGrant::is)
            && self.memory_limit == other.memory_limit
            && self.time_limit == other.time_limit
    }
}

/// The state of one plugin instance's store.
pub struct HostState {
    pub(super) plugin: String,
    wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) http: Option<HttpGrant>,
    pub(super) socket: Option<SocketGrant>,
    limiter: MemoryLimiter,
    /// How long the current call has computed (aish's host calls mark their network waits).
    pub(crate) clock: clock::Clock,
    /// When the latest guest call returned (see [`continue_call`]).
    pub(crate) call_ended: Instant,
    time_limit: Duration,
    stderr: StderrSink,
    /// HTTP responses and socket connections the plugin holds: each holds a connection open.
    pub(super) connections: usize,
}

impl HostState {
    /// The plugin's name.
    pub(crate) fn plugin(&self) -> &str {
        &self.plugin
    }

    /// The largest size, in bytes, of the instance's memories (their initial sizes included).
    pub(crate) fn memory_grown_to(&self) -> usize {
        self.limiter.grown_to
    }

    /// Whether the plugin holds an HTTP response or a socket connection (a garbage-collected
    /// language may let go of one only when its collector runs).
    pub(crate) fn holds_connections(&self) -> bool {
        self.connections > 0
    }

    /// What watches the call under way from outside it (see [`CallWatch::run`]).
    pub(crate) fn call_watch(&self) -> CallWatch {
        CallWatch { clock: self.clock.clone(), limit: self.time_limit, plugin: self.plugin.clone() }
    }

    /// Whether the current call has computed past its limit.
    fn over_time_limit(&mut self) -> bool {
        self.clock.computed() > self.time_limit
    }
}

/// What every aish host call goes through first (the bindings call it to reach the state):
/// marks when the call began, so its wait can be measured when it returns.
fn enter_host(state: &mut HostState) -> &mut HostState {
    state.clock.host_call();
    state
}

impl WasiView for HostState {
    // Every WASI call comes through here first.
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.clock.wasi_call();
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A call's compute clock and limit, held outside the store the call borrows.
pub(crate) struct CallWatch {
    clock: clock::Clock,
    limit: Duration,
    plugin: String,
}

impl CallWatch {
    /// Runs `call` into the plugin, stopped at the time limit even while the plugin waits on
    /// something other than the network (a sleep in a WASI call), which the engine's check,
    /// run only while the plugin's code runs, would see only once the wait ended.
    pub(crate) async fn run<T>(
        self,
        call: impl std::future::Future<Output = wasmtime::Result<T>>,
    ) -> wasmtime::Result<T> {
        let CallWatch { clock, limit, plugin } = self;
        tokio::select! {
            // A call that returned as the watch fired has returned.
            biased;
            result = call => result,
            () = clock.overran(limit) => Err(wasmtime::Error::new(TimeLimitExceeded { plugin, limit })),
        }
    }
}

/// A plugin ran past its compute limit.
#[derive(Debug, thiserror::Error)]
#[error("ran for more than {} ms without returning (the limit; raise it with [plugins.{plugin}] time_limit_ms)", limit.as_millis())]
pub struct TimeLimitExceeded {
    plugin: String,
    limit: Duration,
}

/// A plugin tried to grow its memory past its limit.
#[derive(Debug, thiserror::Error)]
#[error("tried to use {} MiB of memory, over its limit of {} MiB (raise it with [plugins.{plugin}] memory_limit_mb)", desired.div_ceil(1 << 20), limit >> 20)]
pub struct MemoryLimitExceeded {
    plugin: String,
    desired: usize,
    limit: usize,
}

struct MemoryLimiter {
    plugin: String,
    limit: usize,
    /// The largest size of any of the instance's memories (its initial size counts: the
    /// limiter is asked when a memory is made).
    grown_to: usize,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                plugin: self.plugin.clone(),
                desired,
                limit: self.limit,
            }));
        }
        self.grown_to = self.grown_to.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Advances the engine's epoch from a background thread until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: wasmtime::Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new().name("aish-epoch".into()).spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
        Ok(EpochTicker { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Prepared plugins by (name, SHA-256 of their bytes).
type Prepared<P> = HashMap<(String, [u8; 32]), P>;

/// A transport plugin ready to instantiate, by the contract version it was built against.
#[derive(Clone)]
pub enum TransportPre {
    /// `aish:plugin@0.1.0`.
    V0_1(v0_1_0::TransportPluginPre<HostState>),
    /// `aish:plugin@0.2.0`.
    V0_2(v0_2_0::TransportPluginPre<HostState>),
    /// `aish:plugin@0.3.0`.
    V0_3(v0_3_0::TransportPluginPre<HostState>),
}

/// A stage plugin ready to instantiate, by the contract version it was built against.
#[derive(Clone)]
pub enum StagePre {
    /// `aish:plugin@0.1.0`.
    V0_1(v0_1_0::stage::StagePluginPre<HostState>),
    /// `aish:plugin@0.2.0`.
    V0_2(v0_2_0::stage::StagePluginPre<HostState>),
    /// `aish:plugin@0.3.0`.
    V0_3(v0_3_0::stage::StagePluginPre<HostState>),
}

/// Defines the host functions of one kind of plugin in a linker.
type DefineHost = fn(&mut Linker<HostState>) -> wasmtime::Result<()>;

/// Loads and runs plugins.
pub struct Runtime {
    cache_dir: Option<PathBuf>,
    /// The engine is made when a plugin is first needed, each linker when a plugin of its kind
    /// is first prepared: a command that runs no plugin (or no stage) does not pay for setting
    /// up a compiler, an epoch thread and hundreds of host functions.
    engine: OnceLock<EngineCore>,
    linker: OnceLock<Linker<HostState>>,
    stage_linker: OnceLock<Linker<HostState>>,
    loaded: Mutex<Prepared<TransportPre>>,
    stages: Mutex<Prepared<StagePre>>,
}

/// The engine, the compiled-plugin cache that matches it, and the thread that advances its
/// epoch (until the engine is dropped).
struct EngineCore {
    engine: wasmtime::Engine,
    cache: ComponentCache,
    _ticker: EpochTicker,
}

impl Runtime {
    /// A runtime that caches compiled plugins in `cache_dir` (none: compile every start).
    pub fn new(cache_dir: Option<PathBuf>) -> Runtime {
        Runtime {
            cache_dir,
            engine: OnceLock::new(),
            linker: OnceLock::new(),
            stage_linker: OnceLock::new(),
            loaded: Mutex::new(HashMap::new()),
            stages: Mutex::new(HashMap::new()),
        }
    }

    /// The engine and its cache, made on first use.
    fn engine(&self) -> Result<&EngineCore, PluginError> {
        if let Some(engine) = self.engine.get() {
            return Ok(engine);
        }
        let mut config = Config::new();
        config.epoch_interruption(true).wasm_component_model(true);
        let engine = wasmtime::Engine::new(&config).map_err(|e| PluginError::Engine(e.to_string()))?;
        let made = EngineCore {
            cache: ComponentCache::new(self.cache_dir.clone(), &engine),
            _ticker: EpochTicker::start(engine.clone())
                .map_err(|e| PluginError::Engine(format!("cannot start its clock thread: {e}")))?,
            engine,
        };
        // Two threads may both have made one: the first kept serves, the other's is dropped
        // (its epoch thread with it).
        Ok(self.engine.get_or_init(|| made))
    }

    /// The linker for `kind`'s plugins, made on first use.
    fn linker(&self, kind: super::PluginKind) -> Result<&Linker<HostState>, PluginError> {
        let (made, define): (_, DefineHost) = match kind {
            super::PluginKind::Transport => (&self.linker, |linker| {
                wasmtime_wasi::p2::add_to_linker_async(linker)?;
                // Every supported version's imports at once: a component picks its own by name.
                v0_1_0::TransportPlugin::add_to_linker::<HostState, HasSelf<HostState>>(linker, enter_host)?;
                v0_2_0::TransportPlugin::add_to_linker::<HostState, HasSelf<HostState>>(linker, enter_host)?;
                v0_3_0::TransportPlugin::add_to_linker::<HostState, HasSelf<HostState>>(linker, enter_host)
            }),
            // Stage plugins get logging and nothing else (not even HTTP).
            super::PluginKind::Stage => (&self.stage_linker, |linker| {
                wasmtime_wasi::p2::add_to_linker_async(linker)?;
                v0_1_0::stage::StagePlugin::add_to_linker::<HostState, HasSelf<HostState>>(linker, enter_host)?;
                v0_2_0::stage::StagePlugin::add_to_linker::<HostState, HasSelf<HostState>>(linker, enter_host)?;
                v0_3_0::stage::StagePlugin::add_to_linker::<HostState, HasSelf<HostState>>(linker, enter_host)
            }),
        };
        if let Some(linker) = made.get() {
            return Ok(linker);
        }
        let mut linker = Linker::new(&self.engine()?.engine);
        define(&mut linker).map_err(|e| PluginError::Engine(e.to_string()))?;
        // Two threads may both have made one: either serves.
        Ok(made.get_or_init(|| linker))
    }

    /// Compiles (or loads from cache) a transport plugin and checks it fits this aish.
    pub fn prepare(&self, plugin: &Plugin) -> Result<TransportPre, PluginError> {
        self.prepare_kind(plugin, super::PluginKind::Transport, &self.loaded, |pre, version| {
            Ok(match version {
                "0.1.0" => TransportPre::V0_1(v0_1_0::TransportPluginPre::new(pre)?),
                "0.2.0" => TransportPre::V0_2(v0_2_0::TransportPluginPre::new(pre)?),
                _ => TransportPre::V0_3(v0_3_0::TransportPluginPre::new(pre)?),
            })
        })
    }

    /// Compiles (or loads from cache) a stage plugin and checks it fits this aish.
    pub fn prepare_stage(&self, plugin: &Plugin) -> Result<StagePre, PluginError> {
        self.prepare_kind(plugin, super::PluginKind::Stage, &self.stages, |pre, version| {
            Ok(match version {
                "0.1.0" => StagePre::V0_1(v0_1_0::stage::StagePluginPre::new(pre)?),
                "0.2.0" => StagePre::V0_2(v0_2_0::stage::StagePluginPre::new(pre)?),
                _ => StagePre::V0_3(v0_3_0::stage::StagePluginPre::new(pre)?),
            })
        })
    }

    fn prepare_kind<P: Clone>(
        &self,
        plugin: &Plugin,
        kind: super::PluginKind,
        prepared: &Mutex<Prepared<P>>,
        typed: impl FnOnce(wasmtime::component::InstancePre<HostState>, &str) -> wasmtime::Result<P>,
    ) -> Result<P, PluginError> {
        let key = (plugin.manifest.name.clone(), plugin.digest);
        if let Some(pre) = prepared.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Ok(pre.clone());
        }
        let name = &plugin.manifest.name;
        if !SUPPORTED_WIT_VERSIONS.contains(&plugin.manifest.wit.as_str()) {
            return Err(PluginError::UnsupportedVersion { plugin: name.clone(), version: plugin.manifest.wit.clone() });
        }
        if plugin.manifest.kind != kind {
            return Err(PluginError::WrongKind { plugin: name.clone(), kind: plugin.manifest.kind, wanted: kind });
        }
        let engine = self.engine()?;
        let component: Component =
            off_async_workers(|| engine.cache.load_or_compile(&engine.engine, &plugin.bytes, &plugin.digest))
                .map_err(|e| PluginError::Invalid { plugin: name.clone(), why: format!("it does not compile: {e}") })?;
        let pre =
            self.linker(kind)?.instantiate_pre(&component).and_then(|pre| typed(pre, &plugin.manifest.wit)).map_err(
                |e| PluginError::Invalid { plugin: name.clone(), why: crate::text::join_lines(&e.to_string()) },
            )?;
        prepared.lock().unwrap_or_else(PoisonError::into_inner).insert(key, pre.clone());
        Ok(pre)
    }

    /// Forgets plugin `name` built from the bytes with `digest`, which was replaced or removed:
    /// its prepared instances, and its compiled files unless `still_used` (the built-in plugin
    /// of that name has the same bytes).
    pub fn forget(&self, name: &str, digest: &[u8; 32], still_used: bool) -> std::io::Result<()> {
        let key = (name.to_owned(), *digest);
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner).remove(&key);
        self.stages.lock().unwrap_or_else(PoisonError::into_inner).remove(&key);
        if still_used {
            return Ok(());
        }
        super::cache::remove(self.cache_dir.as_deref(), digest).map(drop)
    }

    /// A fresh store for one plugin instance under `grant`.
    pub(crate) fn store(&self, plugin: &str, grant: &Grant) -> Result<Store<HostState>, PluginError> {
        let stderr = StderrSink::new(plugin);
        // No files, no environment, no arguments, no sockets: WASI is there only because Rust's
        // standard library needs its clocks, random numbers and stdio.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let now = Instant::now();
        let state = HostState {
            plugin: plugin.to_owned(),
            wasi,
            table: ResourceTable::new(),
            http: grant.http.clone(),
            socket: grant.socket.clone(),
            limiter: MemoryLimiter { plugin: plugin.to_owned(), limit: grant.memory_limit, grown_to: 0 },
            clock: clock::Clock::new(now),
            call_ended: now,
            time_limit: grant.time_limit,
            stderr,
            connections: 0,
        };
        let mut store = Store::new(&self.engine()?.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(|mut context| {
            let state = context.data_mut();
            if state.over_time_limit() {
                return Err(wasmtime::Error::new(TimeLimitExceeded {
                    plugin: state.plugin.clone(),
                    limit: state.time_limit,
                }));
            }
            // Let the rest of aish (the display, Ctrl-C) run while the plugin computes.
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        Ok(store)
    }
}

/// Runs `work` (compiling a plugin takes seconds of CPU) so that it does not hold up an async
/// worker thread when called from one; directly otherwise.
fn off_async_workers<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Marks the start of a guest call whose compute adds to the last call's (a transport's
/// `receive` after one that returned only heartbeats): the time between the calls is aish's,
/// and is not counted. Returns what watches the call.
pub(crate) fn continue_call(store: &mut Store<HostState>) -> CallWatch {
    let state = store.data_mut();
    state.clock.resume(Instant::now(), state.call_ended);
    state.stderr.new_call();
    store.set_epoch_deadline(1);
    store.data().call_watch()
}

/// Marks the start of a guest call: the compute clock and the stderr budget start afresh.
/// Returns what watches the call.
pub(crate) fn start_call(store: &mut Store<HostState>) -> CallWatch {
    let state = store.data_mut();
    state.clock.restart(Instant::now());
    state.stderr.new_call();
    store.set_epoch_deadline(1);
    store.data().call_watch()
}

/// Turns a trap (a panic, a limit, a broken plugin) into one line that names the plugin.
pub(crate) fn describe_trap(store: &Store<HostState>, error: &wasmtime::Error) -> String {
    let plugin = &store.data().plugin;
    if let Some(limit) = error.downcast_ref::<TimeLimitExceeded>() {
        return format!("plugin `{plugin}` was stopped: it {limit}");
    }
    if let Some(limit) = error.downcast_ref::<MemoryLimitExceeded>() {
        return format!("plugin `{plugin}` was stopped: it {limit}");
    }
    // The sandbox keeps only whether the status was 0, so it is not told.
    if error.downcast_ref::<wasmtime_wasi::I32Exit>().is_some() {
        return format!("plugin `{plugin}` called exit instead of returning its result or an error");
    }
    let stderr = store.data().stderr.contents();
    // A Rust panic prints "thread '…' panicked at FILE:LINE:COL:\nMESSAGE" before aborting.
    if let Some(at) = stderr.find("panicked at ") {
        let rest = &stderr[at..];
        let mut lines = rest.lines();
        let location = lines.next().unwrap_or("").trim_end_matches(':');
        let message = lines.next().unwrap_or("").trim();
        return format!("plugin `{plugin}` crashed: {location}: {message}");
    }
    let reason = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => crate::text::join_lines(&format!("{error}")),
    };
    format!("plugin `{plugin}` crashed: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_the_users_else_the_plugins_else_the_defaults() {
        let user = |memory_limit_mb, time_limit_ms| crate::config::PluginConfig {
            memory_limit_mb,
            time_limit_ms,
            ..Default::default()
        };
        let declared =
            |memory_limit_mb, time_limit_ms| super::super::manifest::Limits { memory_limit_mb, time_limit_ms };
        let secs = Duration::from_secs;
        assert_eq!(
            granted_limits(&user(None, None), &declared(None, None)),
            (DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT)
        );
        assert_eq!(granted_limits(&user(None, None), &declared(Some(96), Some(5000))), (96 << 20, secs(5)));
        assert_eq!(granted_limits(&user(Some(32), None), &declared(Some(96), Some(5000))), (32 << 20, secs(5)));
        assert_eq!(
            granted_limits(&user(None, Some(500)), &declared(None, None)),
            (DEFAULT_MEMORY_LIMIT, Duration::from_millis(500))
        );
    }
}
