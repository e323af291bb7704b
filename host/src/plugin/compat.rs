//! Hosts plugins built against older versions of the contract by converting their calls to the
//! latest version's, so each capability is implemented once.

use wasmtime::component::Resource;

use super::bindings::{v0_1_0, v0_2_0};
use super::host_http::HttpResponse;
use super::runtime::HostState;

mod v1 {
    pub use super::v0_1_0::aish::plugin::{http, log, types};
}
mod latest {
    pub use super::v0_2_0::aish::plugin::{http, log};
}

impl v1::types::Host for HostState {}

impl v1::http::Host for HostState {
    async fn send(
        &mut self,
        request: v1::http::Request,
    ) -> wasmtime::Result<Result<Resource<HttpResponse>, v1::http::HttpError>> {
        let request = latest::http::Request {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            idle_timeout_ms: request.idle_timeout_ms,
        };
        Ok(latest::http::Host::send(self, request).await?.map_err(http_error))
    }
}

impl v1::http::HostResponse for HostState {
    async fn status(&mut self, response: Resource<HttpResponse>) -> wasmtime::Result<u16> {
        latest::http::HostResponse::status(self, response).await
    }

    async fn headers(&mut self, response: Resource<HttpResponse>) -> wasmtime::Result<Vec<(String, String)>> {
        latest::http::HostResponse::headers(self, response).await
    }

    async fn read(
        &mut self,
        response: Resource<HttpResponse>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, v1::http::HttpError>> {
        Ok(latest::http::HostResponse::read(self, response).await?.map_err(http_error))
    }

    async fn drop(&mut self, response: Resource<HttpResponse>) -> wasmtime::Result<()> {
        latest::http::HostResponse::drop(self, response).await
    }
}

impl v1::log::Host for HostState {
    async fn log(&mut self, level: v1::log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            v1::log::Level::Trace => latest::log::Level::Trace,
            v1::log::Level::Debug => latest::log::Level::Debug,
            v1::log::Level::Info => latest::log::Level::Info,
            v1::log::Level::Warn => latest::log::Level::Warn,
            v1::log::Level::Error => latest::log::Level::Error,
        };
        latest::log::Host::log(self, level, message).await
    }
}

fn http_error(error: latest::http::HttpError) -> v1::http::HttpError {
    match error {
        latest::http::HttpError::Denied(m) => v1::http::HttpError::Denied(m),
        latest::http::HttpError::InvalidRequest(m) => v1::http::HttpError::InvalidRequest(m),
        latest::http::HttpError::Connect(m) => v1::http::HttpError::Connect(m),
        latest::http::HttpError::Timeout(m) => v1::http::HttpError::Timeout(m),
        latest::http::HttpError::Io(m) => v1::http::HttpError::Io(m),
    }
}
