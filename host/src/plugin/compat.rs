//! Hosts plugins built against older versions of the contract by converting their calls to the
//! latest version's, so each capability is implemented once. The imports of 0.1.0 (HTTP, log)
//! and 0.2.0 (the same, plus sockets) have the latest's shapes under other generated names.

use wasmtime::component::Resource;

use super::bindings::{v0_1_0, v0_2_0, v0_3_0};
use super::host_http::HttpResponse;
use super::host_socket::SocketConnection;
use super::runtime::HostState;

mod latest {
    pub use super::v0_3_0::aish::plugin::{http, log, socket};
}

/// The HTTP and log imports of an older version, answered by the latest's.
macro_rules! legacy_http_and_log {
    ($version:ident) => {
        impl $version::aish::plugin::types::Host for HostState {}

        impl $version::aish::plugin::http::Host for HostState {
            async fn send(
                &mut self,
                request: $version::aish::plugin::http::Request,
            ) -> wasmtime::Result<Result<Resource<HttpResponse>, $version::aish::plugin::http::HttpError>> {
                let request = latest::http::Request {
                    method: request.method,
                    url: request.url,
                    headers: request.headers,
                    body: request.body,
                    idle_timeout_ms: request.idle_timeout_ms,
                };
                Ok(latest::http::Host::send(self, request).await?.map_err(|e| http_error!($version, e)))
            }
        }

        impl $version::aish::plugin::http::HostResponse for HostState {
            async fn status(&mut self, response: Resource<HttpResponse>) -> wasmtime::Result<u16> {
                latest::http::HostResponse::status(self, response).await
            }

            async fn headers(&mut self, response: Resource<HttpResponse>) -> wasmtime::Result<Vec<(String, String)>> {
                latest::http::HostResponse::headers(self, response).await
            }

            async fn read(
                &mut self,
                response: Resource<HttpResponse>,
            ) -> wasmtime::Result<Result<Option<Vec<u8>>, $version::aish::plugin::http::HttpError>> {
                Ok(latest::http::HostResponse::read(self, response).await?.map_err(|e| http_error!($version, e)))
            }

            async fn drop(&mut self, response: Resource<HttpResponse>) -> wasmtime::Result<()> {
                latest::http::HostResponse::drop(self, response).await
            }
        }

        impl $version::aish::plugin::log::Host for HostState {
            async fn log(
                &mut self,
                level: $version::aish::plugin::log::Level,
                message: String,
            ) -> wasmtime::Result<()> {
                use $version::aish::plugin::log::Level;
                let level = match level {
                    Level::Trace => latest::log::Level::Trace,
                    Level::Debug => latest::log::Level::Debug,
                    Level::Info => latest::log::Level::Info,
                    Level::Warn => latest::log::Level::Warn,
                    Level::Error => latest::log::Level::Error,
                };
                latest::log::Host::log(self, level, message).await
            }
        }
    };
}

/// The latest's HTTP error as an older version's.
macro_rules! http_error {
    ($version:ident, $error:expr) => {{
        use $version::aish::plugin::http::HttpError as Old;
        match $error {
            latest::http::HttpError::Denied(m) => Old::Denied(m),
            latest::http::HttpError::InvalidRequest(m) => Old::InvalidRequest(m),
            latest::http::HttpError::Connect(m) => Old::Connect(m),
            latest::http::HttpError::Timeout(m) => Old::Timeout(m),
            latest::http::HttpError::Io(m) => Old::Io(m),
        }
    }};
}

legacy_http_and_log!(v0_1_0);
legacy_http_and_log!(v0_2_0);

mod v2 {
    pub use super::v0_2_0::aish::plugin::socket;
}

impl v2::socket::Host for HostState {
    async fn connect(
        &mut self,
        request: v2::socket::ConnectRequest,
    ) -> wasmtime::Result<Result<Resource<SocketConnection>, v2::socket::SocketError>> {
        let request = latest::socket::ConnectRequest {
            host: request.host,
            port: request.port,
            tls: request.tls,
            timeout_ms: request.timeout_ms,
        };
        Ok(latest::socket::Host::connect(self, request).await?.map_err(socket_error))
    }
}

impl v2::socket::HostConnection for HostState {
    async fn read(
        &mut self,
        connection: Resource<SocketConnection>,
        max: u32,
        wait_ms: u64,
    ) -> wasmtime::Result<Result<v2::socket::ReadOutcome, v2::socket::SocketError>> {
        let read = latest::socket::HostConnection::read(self, connection, max, wait_ms).await?;
        Ok(read
            .map(|outcome| match outcome {
                latest::socket::ReadOutcome::Data(bytes) => v2::socket::ReadOutcome::Data(bytes),
                latest::socket::ReadOutcome::Idle => v2::socket::ReadOutcome::Idle,
                latest::socket::ReadOutcome::Closed => v2::socket::ReadOutcome::Closed,
            })
            .map_err(socket_error))
    }

    async fn write(
        &mut self,
        connection: Resource<SocketConnection>,
        bytes: Vec<u8>,
    ) -> wasmtime::Result<Result<(), v2::socket::SocketError>> {
        Ok(latest::socket::HostConnection::write(self, connection, bytes).await?.map_err(socket_error))
    }

    async fn shutdown(&mut self, connection: Resource<SocketConnection>) -> wasmtime::Result<()> {
        latest::socket::HostConnection::shutdown(self, connection).await
    }

    async fn drop(&mut self, connection: Resource<SocketConnection>) -> wasmtime::Result<()> {
        latest::socket::HostConnection::drop(self, connection).await
    }
}

fn socket_error(error: latest::socket::SocketError) -> v2::socket::SocketError {
    use v2::socket::SocketError as Old;
    match error {
        latest::socket::SocketError::Denied(m) => Old::Denied(m),
        latest::socket::SocketError::InvalidRequest(m) => Old::InvalidRequest(m),
        latest::socket::SocketError::Connect(m) => Old::Connect(m),
        latest::socket::SocketError::Timeout(m) => Old::Timeout(m),
        latest::socket::SocketError::Io(m) => Old::Io(m),
    }
}
