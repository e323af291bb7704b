//! A live conversation with a transport plugin instance, and opening one for a configured AI.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::{ConnectOptions, ErrorKind, Event, Outgoing, TransportError, Usage};
use crate::config::{AiConfig, Config};
use crate::plugin::capabilities::AllowList;
use crate::plugin::host_http::HttpGrant;
use crate::plugin::host_socket::{SocketGrant, tls_config};
use crate::plugin::native::{NativeError, NativeLibrary};
use crate::plugin::runtime::{
    DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, HostState, TransportPre, describe_trap, start_call,
};
use crate::plugin::{Grant, PluginError, Registry, Runtime, v0_1_0, v0_2_0};

/// Network grants by (plugin, allowed hosts): one HTTP client each, so connections are reused.
type NetworkGrants = std::collections::HashMap<(String, Vec<String>), (Option<HttpGrant>, Option<SocketGrant>)>;

/// Opens transport sessions: finds the plugin, grants it what the config allows, connects.
#[derive(Clone)]
pub struct Connector {
    runtime: Arc<Runtime>,
    registry: Arc<Registry>,
    config: Arc<Config>,
    network_grants: Arc<std::sync::Mutex<NetworkGrants>>,
    natives: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<NativeLibrary>>>>,
}

impl Connector {
    /// A connector over a runtime, the installed plugins and the config.
    pub fn new(runtime: Arc<Runtime>, registry: Arc<Registry>, config: Arc<Config>) -> Self {
        Connector { runtime, registry, config, network_grants: Default::default(), natives: Default::default() }
    }

    /// The same, over another set of installed plugins (after one was added or removed).
    pub fn with_registry(&self, registry: Arc<Registry>) -> Self {
        Connector { registry, natives: Default::default(), ..self.clone() }
    }

    /// The config in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The installed plugins.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The plugin runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Native stage plugin `name`, opened once and only when the config trusts it.
    pub fn native_stage(&self, name: &str) -> Result<Arc<NativeLibrary>, NativeError> {
        if !self.config.plugin(name).trusted {
            return Err(NativeError::Untrusted(name.to_owned()));
        }
        let mut natives = self.natives.lock().expect("native plugin lock");
        if let Some(library) = natives.get(name) {
            return Ok(library.clone());
        }
        let path = self.registry.native(name).ok_or_else(|| NativeError::NotFound(name.to_owned()))?;
        let library = Arc::new(NativeLibrary::open(path)?);
        natives.insert(name.to_owned(), library.clone());
        Ok(library)
    }

    /// What the config grants plugin `name`; `extra_hosts` adds hosts the user named directly.
    pub fn grant(&self, name: &str, extra_hosts: &[String]) -> Result<Grant, TransportError> {
        let settings = self.config.plugin(name);
        let mut hosts = self.config.allowed_hosts(name);
        hosts.extend(extra_hosts.iter().cloned());
        let allow = AllowList::parse(&hosts)
            .map_err(|e| TransportError::new(ErrorKind::InvalidInput, format!("[plugins.{name}] allow_hosts: {e}")))?;
        let asks = self.registry.get(name).map(|p| p.manifest.capabilities.clone()).unwrap_or_default();
        let key = (name.to_owned(), hosts);
        let mut grants = self.network_grants.lock().expect("grant cache lock");
        let (http, socket) = match grants.get(&key) {
            Some(granted) => granted.clone(),
            None => {
                let roots = match &settings.ca_file {
                    Some(file) => load_roots(file).map_err(|e| {
                        TransportError::new(ErrorKind::InvalidInput, format!("[plugins.{name}] ca_file: {e}"))
                    })?,
                    None => Vec::new(),
                };
                let setup = |what: &str, e: String| {
                    TransportError::new(ErrorKind::Other, format!("cannot set up {what} for plugin `{name}`: {e}"))
                };
                let http = match asks.http {
                    true => {
                        Some(HttpGrant::new(name, allow.clone(), &roots).map_err(|e| setup("HTTP", e.to_string()))?)
                    }
                    false => None,
                };
                let socket = match asks.socket {
                    true => {
                        let tls = tls_config(&roots).map_err(|e| setup("TLS", e))?;
                        Some(SocketGrant::new(name, allow, Arc::new(tls)))
                    }
                    false => None,
                };
                grants.insert(key, (http.clone(), socket.clone()));
                (http, socket)
            }
        };
        Ok(Grant {
            http,
            socket,
            memory_limit: settings.memory_limit_mb.map(|mb| (mb as usize) << 20).unwrap_or(DEFAULT_MEMORY_LIMIT),
            time_limit: settings.time_limit_ms.map(Duration::from_millis).unwrap_or(DEFAULT_TIME_LIMIT),
        })
    }

    /// Connects to a configured AI through its transport.
    pub async fn connect_ai(&self, ai: &AiConfig) -> Result<TransportSession, TransportError> {
        let api_key = match &ai.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                TransportError::new(
                    ErrorKind::InvalidInput,
                    format!("the API key variable {var} is not set; export it before starting aish"),
                )
            })?),
            None => None,
        };
        let mut settings = serde_json::to_value(&ai.settings).unwrap_or_default();
        if let (Some(ms), Some(map)) = (ai.heartbeat_ms, settings.as_object_mut()) {
            map.entry("heartbeat_ms").or_insert(ms.into());
        }
        let options = ConnectOptions {
            url: ai.url.clone(),
            dialect: ai.dialect.clone(),
            model: ai.model.clone(),
            api_key,
            settings,
        };
        // An AI's own host is open to whichever transport carries it (its configured one, a
        // fallback, or one chosen at run time), unless the user listed the plugin's hosts.
        let explicit = self.config.plugins.get(&ai.transport).is_some_and(|p| p.allow_hosts.is_some());
        let own_host: Vec<String> = if explicit {
            Vec::new()
        } else {
            crate::plugin::capabilities::host_pattern_of(&ai.url).into_iter().collect()
        };
        let grant = self.grant(&ai.transport, &own_host)?;
        self.connect(&ai.transport, grant, options).await
    }

    /// Connects through plugin `transport` with an explicit grant.
    pub async fn connect(
        &self,
        transport: &str,
        grant: Grant,
        options: ConnectOptions,
    ) -> Result<TransportSession, TransportError> {
        let plugin =
            self.registry.get(transport).ok_or_else(|| plugin_error(PluginError::NotFound(transport.to_owned())))?;
        let pre = self.runtime.prepare(plugin).map_err(plugin_error)?;
        let mut store = self.runtime.store(transport, &grant);
        start_call(&mut store);
        let bindings = match pre {
            TransportPre::V0_1(pre) => pre.instantiate_async(&mut store).await.map(Bindings::V0_1),
            TransportPre::V0_2(pre) => pre.instantiate_async(&mut store).await.map(Bindings::V0_2),
        }
        .map_err(|e| trap(&store, &e))?;
        start_call(&mut store);
        let result = each_version!(&bindings, stream => stream.call_connect(&mut store, &(&options).into()).await);
        let handle = result.map_err(|e| trap(&store, &e))??;
        Ok(TransportSession { store, bindings, handle, dead: false })
    }
}

/// A plugin instance's exports, by the contract version it was built against.
enum Bindings {
    V0_1(v0_1_0::TransportPlugin),
    V0_2(v0_2_0::TransportPlugin),
}

/// Calls `$call` on the instance's stream-wrapper, whichever contract version it was built
/// against, and converts what it returns to the host's types. The generated types differ by
/// version; `wit_conversions!` gives each version its conversions.
macro_rules! each_version {
    ($bindings:expr, $stream:ident => $call:expr) => {
        match $bindings {
            Bindings::V0_1(bindings) => {
                let $stream = bindings.aish_plugin_transport().stream_wrapper();
                $call.map(|result| result.map(FromWit::from_wit).map_err(FromWit::from_wit))
            }
            Bindings::V0_2(bindings) => {
                let $stream = bindings.aish_plugin_transport().stream_wrapper();
                $call.map(|result| result.map(FromWit::from_wit).map_err(FromWit::from_wit))
            }
        }
    };
}
use each_version;

/// One conversation with one plugin instance.
pub struct TransportSession {
    store: Store<HostState>,
    bindings: Bindings,
    handle: ResourceAny,
    /// The instance trapped; it must not be called again.
    dead: bool,
}

impl TransportSession {
    /// Sends a message.
    pub async fn send(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        self.check_alive()?;
        start_call(&mut self.store);
        let result = each_version!(&self.bindings, stream => stream.call_send(&mut self.store, self.handle, &message.into()).await);
        self.settle(result)?
    }

    /// The next events; an empty list once the stream has ended.
    pub async fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        self.check_alive()?;
        start_call(&mut self.store);
        let result = each_version!(&self.bindings, stream => stream.call_receive(&mut self.store, self.handle).await);
        self.settle(result)?
    }

    /// Asks the plugin to prove the connection is alive.
    pub async fn heartbeat(&mut self) -> Result<(), TransportError> {
        self.check_alive()?;
        start_call(&mut self.store);
        let result = each_version!(&self.bindings, stream => stream.call_heartbeat(&mut self.store, self.handle).await);
        self.settle(result)?
    }

    /// Closes the connection and frees the plugin's resource.
    pub async fn close(mut self) {
        if self.dead {
            return;
        }
        start_call(&mut self.store);
        let closed = match &self.bindings {
            Bindings::V0_1(bindings) => {
                bindings.aish_plugin_transport().stream_wrapper().call_close(&mut self.store, self.handle).await
            }
            Bindings::V0_2(bindings) => {
                bindings.aish_plugin_transport().stream_wrapper().call_close(&mut self.store, self.handle).await
            }
        };
        if closed.is_ok() {
            let _ = self.handle.resource_drop_async(&mut self.store).await;
        }
    }

    fn check_alive(&self) -> Result<(), TransportError> {
        if self.dead {
            return Err(TransportError::new(ErrorKind::Plugin, "the plugin stopped earlier in this answer"));
        }
        Ok(())
    }

    fn settle<T>(&mut self, result: wasmtime::Result<T>) -> Result<T, TransportError> {
        result.map_err(|e| {
            self.dead = true;
            trap(&self.store, &e)
        })
    }
}

/// Reads a PEM file of root certificates.
fn load_roots(file: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let roots = CertificateDer::pem_file_iter(file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", file.display()))?;
    if roots.is_empty() {
        return Err(format!("{} holds no PEM certificate", file.display()));
    }
    Ok(roots)
}

fn trap(store: &Store<HostState>, error: &wasmtime::Error) -> TransportError {
    TransportError::new(ErrorKind::Plugin, describe_trap(store, error))
}

fn plugin_error(error: PluginError) -> TransportError {
    TransportError::new(ErrorKind::Plugin, error.to_string())
}

/// Conversion of what a plugin returned to the host's own types.
trait FromWit<T> {
    fn from_wit(value: T) -> Self;
}

impl FromWit<()> for () {
    fn from_wit(_: ()) {}
}

impl FromWit<ResourceAny> for ResourceAny {
    fn from_wit(value: ResourceAny) -> Self {
        value
    }
}

impl<T, U: FromWit<T>> FromWit<Vec<T>> for Vec<U> {
    fn from_wit(values: Vec<T>) -> Self {
        values.into_iter().map(U::from_wit).collect()
    }
}

/// The conversions between the host's types and one contract version's generated ones.
macro_rules! wit_conversions {
    ($version:ident) => {
        impl FromWit<$version::aish::plugin::types::TransportError> for TransportError {
            fn from_wit(error: $version::aish::plugin::types::TransportError) -> Self {
                use $version::aish::plugin::types::ErrorKind as Kind;
                let kind = match error.kind {
                    Kind::StreamUnavailable => ErrorKind::StreamUnavailable,
                    Kind::Connect => ErrorKind::Connect,
                    Kind::Denied => ErrorKind::Denied,
                    Kind::Server => ErrorKind::Server,
                    Kind::Protocol => ErrorKind::Protocol,
                    Kind::Interrupted => ErrorKind::Interrupted,
                    Kind::InvalidInput => ErrorKind::InvalidInput,
                    Kind::Other => ErrorKind::Other,
                };
                TransportError {
                    kind,
                    message: crate::text::one_line(&error.message, 1000),
                    status: error.status,
                    retry_after: error.retry_after_ms.map(Duration::from_millis),
                }
            }
        }

        impl FromWit<$version::aish::plugin::types::Event> for Event {
            fn from_wit(event: $version::aish::plugin::types::Event) -> Self {
                use $version::aish::plugin::types::Event as Wit;
                match event {
                    Wit::Token(text) => Event::Token(text),
                    Wit::Metadata(text) => {
                        Event::Metadata(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
                    }
                    Wit::Heartbeat => Event::Heartbeat,
                    Wit::Done(usage) => Event::Done(
                        usage.map(|u| Usage { input_tokens: u.input_tokens, output_tokens: u.output_tokens }),
                    ),
                    Wit::Error(message) => Event::Error(message),
                    Wit::Raw(raw) => Event::Raw { event: raw.event, data: raw.data, id: raw.id },
                }
            }
        }

        impl From<&ConnectOptions> for $version::aish::plugin::types::ConnectOptions {
            fn from(options: &ConnectOptions) -> Self {
                Self {
                    url: options.url.clone(),
                    dialect: options.dialect.clone(),
                    model: options.model.clone(),
                    api_key: options.api_key.clone(),
                    settings: options.settings.to_string(),
                }
            }
        }

        impl From<&Outgoing> for $version::aish::plugin::types::Outgoing {
            fn from(message: &Outgoing) -> Self {
                Self { message: message.message.clone(), context: message.context.to_string(), stream: message.stream }
            }
        }
    };
}

wit_conversions!(v0_1_0);
wit_conversions!(v0_2_0);
