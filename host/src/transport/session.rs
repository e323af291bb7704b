//! A live conversation with a transport plugin instance, and opening one for a configured AI.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::{ConnectOptions, ErrorKind, Event, Outgoing, TransportError, Usage};
use crate::config::{AiConfig, Config};
use crate::plugin::capabilities::AllowList;
use crate::plugin::host_http::HttpGrant;
use crate::plugin::native::{NativeError, NativeLibrary};
use crate::plugin::runtime::{DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, HostState, describe_trap, start_call};
use crate::plugin::{Grant, PluginError, Registry, Runtime, v0_1_0};

use v0_1_0::aish::plugin::types as wit;

/// HTTP grants by (plugin, allowed hosts): one client each, so connections are reused.
type HttpGrants = std::collections::HashMap<(String, Vec<String>), HttpGrant>;

/// Opens transport sessions: finds the plugin, grants it what the config allows, connects.
#[derive(Clone)]
pub struct Connector {
    runtime: Arc<Runtime>,
    registry: Arc<Registry>,
    config: Arc<Config>,
    http_grants: Arc<std::sync::Mutex<HttpGrants>>,
    natives: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<NativeLibrary>>>>,
}

impl Connector {
    /// A connector over a runtime, the installed plugins and the config.
    pub fn new(runtime: Arc<Runtime>, registry: Arc<Registry>, config: Arc<Config>) -> Self {
        Connector { runtime, registry, config, http_grants: Default::default(), natives: Default::default() }
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
        let wants_http = self.registry.get(name).is_some_and(|p| p.manifest.capabilities.http);
        let http = if wants_http {
            let key = (name.to_owned(), hosts);
            let mut grants = self.http_grants.lock().expect("grant cache lock");
            match grants.get(&key) {
                Some(grant) => Some(grant.clone()),
                None => {
                    let grant = HttpGrant::new(name, allow).map_err(|e| {
                        TransportError::new(ErrorKind::Other, format!("cannot set up HTTP for plugin `{name}`: {e}"))
                    })?;
                    grants.insert(key, grant.clone());
                    Some(grant)
                }
            }
        } else {
            None
        };
        Ok(Grant {
            http,
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
        let bindings = pre.instantiate_async(&mut store).await.map_err(|e| trap(&store, &e))?;
        let options = wit::ConnectOptions {
            url: options.url,
            dialect: options.dialect,
            model: options.model,
            api_key: options.api_key,
            settings: options.settings.to_string(),
        };
        start_call(&mut store);
        let result = bindings
            .aish_plugin_transport()
            .stream_wrapper()
            .call_connect(&mut store, &options)
            .await
            .map_err(|e| trap(&store, &e))?;
        let handle = result.map_err(from_wit)?;
        Ok(TransportSession { store, bindings, handle, dead: false })
    }
}

/// One conversation with one plugin instance.
pub struct TransportSession {
    store: Store<HostState>,
    bindings: v0_1_0::TransportPlugin,
    handle: ResourceAny,
    /// The instance trapped; it must not be called again.
    dead: bool,
}

impl TransportSession {
    /// Sends a message.
    pub async fn send(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        self.check_alive()?;
        let outgoing = wit::Outgoing {
            message: message.message.clone(),
            context: message.context.to_string(),
            stream: message.stream,
        };
        start_call(&mut self.store);
        let result = self
            .bindings
            .aish_plugin_transport()
            .stream_wrapper()
            .call_send(&mut self.store, self.handle, &outgoing)
            .await;
        self.settle(result)?.map_err(from_wit)
    }

    /// The next events; an empty list once the stream has ended.
    pub async fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        self.check_alive()?;
        start_call(&mut self.store);
        let result =
            self.bindings.aish_plugin_transport().stream_wrapper().call_receive(&mut self.store, self.handle).await;
        let events = self.settle(result)?.map_err(from_wit)?;
        Ok(events.into_iter().map(event_from_wit).collect())
    }

    /// Asks the plugin to prove the connection is alive.
    pub async fn heartbeat(&mut self) -> Result<(), TransportError> {
        self.check_alive()?;
        start_call(&mut self.store);
        let result =
            self.bindings.aish_plugin_transport().stream_wrapper().call_heartbeat(&mut self.store, self.handle).await;
        self.settle(result)?.map_err(from_wit)
    }

    /// Closes the connection and frees the plugin's resource.
    pub async fn close(mut self) {
        if self.dead {
            return;
        }
        start_call(&mut self.store);
        let stream = self.bindings.aish_plugin_transport().stream_wrapper();
        if stream.call_close(&mut self.store, self.handle).await.is_ok() {
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

fn trap(store: &Store<HostState>, error: &wasmtime::Error) -> TransportError {
    TransportError::new(ErrorKind::Plugin, describe_trap(store, error))
}

fn plugin_error(error: PluginError) -> TransportError {
    TransportError::new(ErrorKind::Plugin, error.to_string())
}

fn from_wit(error: wit::TransportError) -> TransportError {
    let kind = match error.kind {
        wit::ErrorKind::StreamUnavailable => ErrorKind::StreamUnavailable,
        wit::ErrorKind::Connect => ErrorKind::Connect,
        wit::ErrorKind::Denied => ErrorKind::Denied,
        wit::ErrorKind::Server => ErrorKind::Server,
        wit::ErrorKind::Protocol => ErrorKind::Protocol,
        wit::ErrorKind::Interrupted => ErrorKind::Interrupted,
        wit::ErrorKind::InvalidInput => ErrorKind::InvalidInput,
        wit::ErrorKind::Other => ErrorKind::Other,
    };
    // A plugin's message is shown on one line whatever it contains.
    let message: String = error.message.chars().map(|c| if c.is_control() { ' ' } else { c }).take(1000).collect();
    TransportError { kind, message, status: error.status, retry_after: error.retry_after_ms.map(Duration::from_millis) }
}

fn event_from_wit(event: wit::Event) -> Event {
    match event {
        wit::Event::Token(text) => Event::Token(text),
        wit::Event::Metadata(text) => {
            Event::Metadata(serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
        }
        wit::Event::Heartbeat => Event::Heartbeat,
        wit::Event::Done(usage) => {
            Event::Done(usage.map(|u| Usage { input_tokens: u.input_tokens, output_tokens: u.output_tokens }))
        }
        wit::Event::Error(message) => Event::Error(message),
        wit::Event::Raw(raw) => Event::Raw { event: raw.event, data: raw.data, id: raw.id },
    }
}
