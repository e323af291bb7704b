//! Opening transport sessions for configured AIs: finding the plugin, granting it what the
//! config allows (one HTTP client and TLS setup per plugin and host list, reused), connecting.
//! Native stage libraries are opened here too, only when the config trusts them.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::plugin_session::Bindings;
use super::plugin_session::TransportSession;
use super::{ConnectOptions, ErrorKind, TransportError};
use crate::config::{AiConfig, Config};
use crate::plugin::capabilities::AllowList;
use crate::plugin::host_http::HttpGrant;
use crate::plugin::host_socket::{SocketGrant, tls_config};
use crate::plugin::kept::{KEPT_STAGES, KEPT_TRANSPORTS, Kept};
use crate::plugin::native::{NativeError, NativeLibrary};
use crate::plugin::runtime::granted_limits;
use crate::plugin::stage::StageBindings;
use crate::plugin::{Grant, PluginError, Registry, Runtime};

/// Network grants by (plugin, allowed hosts): one HTTP client each, so connections are reused.
/// Grants by plugin, its bytes' hash (a rebuilt plugin may ask for other capabilities) and hosts.
type NetworkGrants =
    std::collections::HashMap<(String, [u8; 32], Vec<String>), (Option<HttpGrant>, Option<SocketGrant>)>;

/// Opens transport sessions: finds the plugin, grants it what the config allows, connects.
#[derive(Clone)]
pub struct Connector {
    runtime: Arc<Runtime>,
    registry: Arc<Registry>,
    config: Arc<Config>,
    network_grants: Arc<std::sync::Mutex<NetworkGrants>>,
    natives: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<NativeLibrary>>>>,
    /// Transport instances kept between answers.
    warm: Arc<Kept<Bindings>>,
    /// Stage instances kept between runs.
    kept_stages: Arc<Kept<StageBindings>>,
}

impl Connector {
    /// A connector over a runtime, the installed plugins and the config.
    pub fn new(runtime: Arc<Runtime>, registry: Arc<Registry>, config: Arc<Config>) -> Self {
        Connector {
            runtime,
            registry,
            config,
            network_grants: Default::default(),
            natives: Default::default(),
            warm: Kept::holding(KEPT_TRANSPORTS),
            kept_stages: Kept::holding(KEPT_STAGES),
        }
    }

    /// The same, over another set of installed plugins (after one was added or removed).
    pub fn with_registry(&self, registry: Arc<Registry>) -> Self {
        Connector {
            registry,
            natives: Default::default(),
            warm: Kept::holding(KEPT_TRANSPORTS),
            kept_stages: Kept::holding(KEPT_STAGES),
            ..self.clone()
        }
    }

    /// Where stage `name`'s instances are kept between runs, when they may be (its manifest
    /// says so, or the user does); `None` for a fresh instance each run.
    pub(crate) fn kept_stages(&self, name: &str) -> Option<&Arc<Kept<StageBindings>>> {
        let plugin = self.registry.get(name)?;
        self.config.reuse_instance(name, plugin.manifest.instance.reuse).then_some(&self.kept_stages)
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

    /// Native stage plugin `name`, opened once and only when the config trusts its content
    /// (the deprecated `trusted = true` warns once, saying what to write instead).
    pub fn native_stage(&self, name: &str) -> Result<Arc<NativeLibrary>, NativeError> {
        let trust = self.config.plugin(name).trusted;
        if trust == crate::config::Trust::No {
            return Err(NativeError::Untrusted(name.to_owned()));
        }
        let mut natives = self.natives.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(library) = natives.get(name) {
            return Ok(library.clone());
        }
        let path = self.registry.native(name).ok_or_else(|| NativeError::NotFound(name.to_owned()))?;
        if let Some(warning) = crate::plugin::native::check_trust(name, path, &trust)? {
            warn_once(name, &warning);
        }
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
            .map_err(|e| TransportError::new(ErrorKind::InvalidInput, format!("[plugins.{name}] allow_hosts: {e}")))?
            .set_in(self.config.source.as_deref());
        let plugin = self.registry.get(name);
        let manifest = plugin.map(|p| &p.manifest);
        let asks = manifest.map(|m| m.capabilities.clone()).unwrap_or_default();
        let limits = manifest.map(|m| m.limits).unwrap_or_default();
        let key = (name.to_owned(), plugin.map(|p| p.digest).unwrap_or_default(), hosts);
        let mut grants = self.network_grants.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
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
        let (memory_limit, time_limit) = granted_limits(&settings, &limits);
        Ok(Grant { http, socket, memory_limit, time_limit })
    }

    /// Connects to a configured AI through its transport.
    pub async fn connect_ai(&self, ai: &AiConfig) -> Result<TransportSession, TransportError> {
        let api_key = match &ai.api_key_env {
            Some(var) => {
                let missing = |how: &str| {
                    TransportError::new(
                        ErrorKind::InvalidInput,
                        format!("the API key variable {var} is {how}; export it before starting aish"),
                    )
                };
                let key = std::env::var(var).map_err(|_| missing("not set"))?;
                // An empty key would be sent as `Bearer ` and refused by the server, less clearly.
                if key.trim().is_empty() {
                    return Err(missing("empty"));
                }
                Some(key)
            }
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
        // Only a plugin that keeps nothing of an answer in its globals (it says so, or the user
        // does) has its instance kept.
        let (kept, home) = match self.config.reuse_instance(transport, plugin.manifest.instance.reuse) {
            true => {
                let ai = (options.url.clone(), options.api_key.clone());
                let (kept, home) = self.warm.take(transport, plugin.digest, &grant, Some(ai));
                (kept, Some(home))
            }
            false => (None, None),
        };
        let instance = match kept {
            Some(instance) => instance,
            None => {
                let pre = self.runtime.prepare(plugin).map_err(plugin_error)?;
                let store = self.runtime.store(transport, &grant).map_err(plugin_error)?;
                TransportSession::instantiate(store, pre).await?
            }
        };
        TransportSession::connect(instance, home, &options).await
    }
}

/// Prints a warning about native plugin `name` on standard error, once per process.
fn warn_once(name: &str, warning: &str) {
    static WARNED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut warned = WARNED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !warned.iter().any(|n| n == name) {
        warned.push(name.to_owned());
        eprintln!("warning: {}", crate::text::one_line(warning, usize::MAX));
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

fn plugin_error(error: PluginError) -> TransportError {
    TransportError::new(ErrorKind::Plugin, error.to_string())
}
