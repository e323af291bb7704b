//! Host bindings, one module per released version of the `aish:plugin` WIT package.
//! A new WIT version gets a new folder under `wit/` and a new module here; the old ones stay so
//! plugins built against them keep loading.

/// The versions of the plugin contract this aish loads.
pub const SUPPORTED_WIT_VERSIONS: &[&str] = &["0.1.0"];

/// `aish:plugin@0.1.0`.
pub mod v0_1_0 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1.0",
        world: "transport-plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "aish:plugin/http.response": crate::plugin::host_http::HttpResponse,
        },
    });

    /// The stage world; its `log` import is the same interface as the transport world's.
    pub mod stage {
        wasmtime::component::bindgen!({
            path: "../wit/v0.1.0",
            world: "stage-plugin",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "aish:plugin/log": super::aish::plugin::log,
            },
        });
    }
}
