//! The host side of the `socket` import: TCP, TLS on request, limited to the hosts the user allowed.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use wasmtime::component::Resource;

use super::bindings::v0_3_0::aish::plugin::socket;
use super::capabilities::AllowList;
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
}

impl SocketGrant {
    /// Connections to `allow` only; TLS trusts `tls`'s roots.
    pub fn new(plugin: &str, allow: AllowList, tls: Arc<rustls::ClientConfig>) -> SocketGrant {
        SocketGrant { allow: Arc::new(allow), tls, plugin: plugin.into() }
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
}

impl socket::Host for HostState {
    async fn connect(
        &mut self,
        request: socket::ConnectRequest,
    ) -> wasmtime::Result<Result<Resource<SocketConnection>, socket::SocketError>> {
        let result = self.socket_connect(request).await;
        self.resume_guest_clock();
        Ok(match result {
            Ok(connection) => Ok(self.table.push(connection)?),
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
        let result = match tokio::time::timeout(wait, read).await {
            Err(_) => Ok(socket::ReadOutcome::Idle),
            Ok(Ok(0)) => Ok(socket::ReadOutcome::Closed),
            Ok(Ok(n)) => Ok(socket::ReadOutcome::Data(connection.buffer[..n].to_vec())),
            Ok(Err(e)) => Err(socket::SocketError::Io(format!("{}: {e}", connection.peer))),
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
        let host = request.host.trim_start_matches('[').trim_end_matches(']').to_owned();
        if host.is_empty() || request.port == 0 {
            return Err(socket::SocketError::InvalidRequest(format!(
                "`{}:{}` is not a host and port",
                request.host, request.port
            )));
        }
        let peer =
            if host.contains(':') { format!("[{host}]:{}", request.port) } else { format!("{host}:{}", request.port) };
        if !grant.allow.allows_host(&host, request.port, if request.tls { 443 } else { 80 }) {
            return Err(socket::SocketError::Denied(format!(
                "plugin `{}` may not reach {peer}; to allow it, add \"{peer}\" to [plugins.{}] allow_hosts in config.toml",
                grant.plugin, grant.plugin
            )));
        }
        let timeout = request.timeout_ms.map(Duration::from_millis).unwrap_or(CONNECT_TIMEOUT);
        let timed_out = || socket::SocketError::Timeout(format!("{peer} did not answer within {}s", timeout.as_secs()));
        let tcp = tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), request.port)))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| socket::SocketError::Connect(format!("{peer}: {e}")))?;
        // Tokens are small writes that must leave at once.
        let _ = tcp.set_nodelay(true);
        if !request.tls {
            return Ok(SocketConnection { stream: Box::new(tcp), peer, buffer: Vec::new() });
        }
        let name = ServerName::try_from(host.clone())
            .map_err(|_| socket::SocketError::InvalidRequest(format!("`{host}` is not a TLS server name")))?;
        let tls = tokio_rustls::TlsConnector::from(grant.tls.clone());
        let stream = tokio::time::timeout(timeout, tls.connect(name, tcp))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| socket::SocketError::Connect(format!("{peer}: TLS handshake failed: {e}")))?;
        Ok(SocketConnection { stream: Box::new(stream), peer, buffer: Vec::new() })
    }
}
