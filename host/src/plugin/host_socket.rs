//! The host side of the `socket` import: TCP, TLS on request, limited to the hosts the user allowed.
//! A host name is looked up here, every address it resolved to is checked (see
//! [`super::addresses`]), and the connection goes to those checked addresses only.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use wasmtime::component::Resource;

use super::addresses::{Lookup, SystemLookup, check_for_port};
use super::bindings::v0_3_0::aish::plugin::socket;
use super::capabilities::AllowList;
use super::idle::IdleTimer;
use super::runtime::HostState;

/// How long connecting (TCP and TLS handshakes) may take when the plugin says nothing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write may wait for the peer to take the bytes.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// The most one read returns, whatever the plugin asks for.
const MAX_READ: usize = 1 << 20;

/// The socket capability granted to one plugin.
#[derive(Clone)]
pub struct SocketGrant {
    allow: Arc<AllowList>,
    tls: Arc<rustls::ClientConfig>,
    plugin: Arc<str>,
    lookup: Arc<dyn Lookup>,
}

impl SocketGrant {
    /// Connections to `allow` only; TLS trusts `tls`'s roots; names resolved by the system.
    pub fn new(plugin: &str, allow: AllowList, tls: Arc<rustls::ClientConfig>) -> SocketGrant {
        SocketGrant::with_lookup(plugin, allow, tls, Arc::new(SystemLookup))
    }

    /// Whether `other` is this very grant (made once per plugin and host list, then shared),
    /// not merely an equal one.
    pub(crate) fn is(&self, other: &SocketGrant) -> bool {
        Arc::ptr_eq(&self.allow, &other.allow)
    }

    /// As [`SocketGrant::new`], resolving names with `lookup`.
    pub(crate) fn with_lookup(
        plugin: &str,
        allow: AllowList,
        tls: Arc<rustls::ClientConfig>,
        lookup: Arc<dyn Lookup>,
    ) -> SocketGrant {
        SocketGrant { allow: Arc::new(allow), tls, plugin: plugin.into(), lookup }
    }
}

/// The TLS settings plugins' connections use: the web's root certificates (the same ones
/// reqwest trusts for HTTP) and any the user added.
pub fn tls_config(extra_roots: &[rustls::pki_types::CertificateDer<'static>]) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for cert in extra_roots {
        roots.add(cert.clone()).map_err(|e| format!("a certificate cannot be used as a root: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// An open connection owned by a plugin.
pub struct SocketConnection {
    stream: Box<dyn Stream>,
    peer: String,
    /// Reused across reads, so a read costs what arrived, not what could have.
    buffer: Vec<u8>,
    /// The deadline of the read waiting now.
    idle_timer: IdleTimer,
}

impl socket::Host for HostState {
    async fn connect(
        &mut self,
        request: socket::ConnectRequest,
    ) -> wasmtime::Result<Result<Resource<SocketConnection>, socket::SocketError>> {
        let result = self.socket_connect(request).await;
        self.resume_guest_clock();
        Ok(match result {
            Ok(connection) => {
                let connection = self.table.push(connection)?;
                self.connections += 1;
                Ok(connection)
            }
            Err(e) => Err(e),
        })
    }
}

impl socket::HostConnection for HostState {
    async fn read(
        &mut self,
        connection: Resource<SocketConnection>,
        max: u32,
        wait_ms: u64,
    ) -> wasmtime::Result<Result<socket::ReadOutcome, socket::SocketError>> {
        let connection = self.table.get_mut(&connection)?;
        let limit = (max as usize).clamp(1, MAX_READ);
        if connection.buffer.len() < limit {
            connection.buffer.resize(limit, 0);
        }
        let wait = Duration::from_millis(wait_ms);
        let read = connection.stream.read(&mut connection.buffer[..limit]);
        let result = match connection.idle_timer.within(wait, read).await {
            None => Ok(socket::ReadOutcome::Idle),
            Some(Ok(0)) => Ok(socket::ReadOutcome::Closed),
            Some(Ok(n)) => Ok(socket::ReadOutcome::Data(connection.buffer[..n].to_vec())),
            Some(Err(e)) => Err(socket::SocketError::Io(format!("{}: {e}", connection.peer))),
        };
        self.resume_guest_clock();
        Ok(result)
    }

    async fn write(
        &mut self,
        connection: Resource<SocketConnection>,
        bytes: Vec<u8>,
    ) -> wasmtime::Result<Result<(), socket::SocketError>> {
        let connection = self.table.get_mut(&connection)?;
        let write = async {
            connection.stream.write_all(&bytes).await?;
            connection.stream.flush().await
        };
        let result = match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Err(_) => Err(socket::SocketError::Timeout(format!(
                "{} took no data for {}s",
                connection.peer,
                WRITE_TIMEOUT.as_secs()
            ))),
            Ok(Err(e)) => Err(socket::SocketError::Io(format!("{}: {e}", connection.peer))),
            Ok(Ok(())) => Ok(()),
        };
        self.resume_guest_clock();
        Ok(result)
    }

    async fn shutdown(&mut self, connection: Resource<SocketConnection>) -> wasmtime::Result<()> {
        let connection = self.table.get_mut(&connection)?;
        // The peer may be gone already; there is nothing left to tell it then.
        let _ = tokio::time::timeout(WRITE_TIMEOUT, connection.stream.shutdown()).await;
        self.resume_guest_clock();
        Ok(())
    }

    async fn drop(&mut self, connection: Resource<SocketConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        self.connections -= 1;
        Ok(())
    }
}

impl HostState {
    async fn socket_connect(
        &mut self,
        request: socket::ConnectRequest,
    ) -> Result<SocketConnection, socket::SocketError> {
        let grant = self
            .socket
            .clone()
            .ok_or_else(|| socket::SocketError::Denied(format!("plugin `{}` has no socket capability", self.plugin)))?;
        grant.open(request).await
    }
}

impl SocketGrant {
    /// Opens the connection `request` asks for, if the allow list lets it: the name, then every
    /// address it resolved to, before connecting to any.
    pub(crate) async fn open(&self, request: socket::ConnectRequest) -> Result<SocketConnection, socket::SocketError> {
        let host = request.host.trim_start_matches('[').trim_end_matches(']').to_owned();
        if host.is_empty() || request.port == 0 {
            return Err(socket::SocketError::InvalidRequest(format!(
                "`{}:{}` is not a host and port",
                request.host, request.port
            )));
        }
        let peer =
            if host.contains(':') { format!("[{host}]:{}", request.port) } else { format!("{host}:{}", request.port) };
        let default_port = if request.tls { 443 } else { 80 };
        if !self.allow.allows_host(&host, request.port, default_port) {
            return Err(socket::SocketError::Denied(format!(
                "plugin `{}` may not reach {peer}; to allow it, add \"{peer}\" to {}",
                self.plugin,
                self.allow.where_to_allow(&self.plugin)
            )));
        }
        let timeout = request.timeout_ms.map(Duration::from_millis).unwrap_or(CONNECT_TIMEOUT);
        let timed_out = || socket::SocketError::Timeout(format!("{peer} did not answer within {}s", timeout.as_secs()));
        let connect = async {
            let addresses = match host.parse::<IpAddr>() {
                Ok(ip) => vec![ip],
                Err(_) => self
                    .lookup
                    .lookup(host.clone())
                    .await
                    .map_err(|e| socket::SocketError::Connect(format!("{peer}: {e}")))?,
            };
            check_for_port(&self.allow, &self.plugin, &host, request.port, default_port, &addresses)
                .map_err(|e| socket::SocketError::Denied(e.to_string()))?;
            let addresses: Vec<SocketAddr> =
                addresses.into_iter().map(|ip| SocketAddr::new(ip, request.port)).collect();
            TcpStream::connect(addresses.as_slice())
                .await
                .map_err(|e| socket::SocketError::Connect(format!("{peer}: {e}")))
        };
        let tcp = tokio::time::timeout(timeout, connect).await.map_err(|_| timed_out())??;
        // Tokens are small writes that must leave at once.
        let _ = tcp.set_nodelay(true);
        if !request.tls {
            return Ok(SocketConnection {
                stream: Box::new(tcp),
                peer,
                buffer: Vec::new(),
                idle_timer: IdleTimer::new(),
            });
        }
        let name = ServerName::try_from(host.clone())
            .map_err(|_| socket::SocketError::InvalidRequest(format!("`{host}` is not a TLS server name")))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone());
        let stream = tokio::time::timeout(timeout, tls.connect(name, tcp))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| socket::SocketError::Connect(format!("{peer}: TLS handshake failed: {e}")))?;
        Ok(SocketConnection { stream: Box::new(stream), peer, buffer: Vec::new(), idle_timer: IdleTimer::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::addresses::FakeLookup;

    fn grant(allow: &[&str]) -> SocketGrant {
        let table: &[(&str, &[&str])] = &[
            ("rebind.test", &["93.184.216.34", "127.0.0.1"]),
            ("loop.test", &["127.0.0.1"]),
            ("localhost", &["127.0.0.1"]),
        ];
        let tls = Arc::new(tls_config(&[]).unwrap());
        SocketGrant::with_lookup("ws", AllowList::parse(allow).unwrap(), tls, Arc::new(FakeLookup::new(table)))
    }

    fn request(host: &str, port: u16) -> socket::ConnectRequest {
        socket::ConnectRequest { host: host.into(), port, tls: false, timeout_ms: Some(2_000) }
    }

    #[tokio::test]
    async fn every_resolved_address_is_checked_before_connecting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let result = grant(&["rebind.test:*"]).open(request("rebind.test", port)).await;
        let Err(socket::SocketError::Denied(message)) = result else { panic!("not denied") };
        assert_eq!(
            message,
            format!(
                "plugin `ws` may not reach rebind.test:{port}: it resolved to 127.0.0.1, a loopback address; to allow it, add \"127.0.0.1:{port}\" to [plugins.ws] allow_hosts in config.toml"
            )
        );
        assert!(listener.accept().is_err(), "nothing was connected to");
        // IP addresses and localhost work as before; an entry naming the address lets the name through.
        assert!(grant(&["127.0.0.1:*"]).open(request("127.0.0.1", port)).await.is_ok());
        assert!(grant(&["localhost:*"]).open(request("localhost", port)).await.is_ok());
        assert!(grant(&["loop.test:*", "127.0.0.0/8:*"]).open(request("loop.test", port)).await.is_ok());
        assert!(grant(&["loop.test:*", "127.0.0.1:1"]).open(request("loop.test", port)).await.is_err(), "other port");
    }
}
