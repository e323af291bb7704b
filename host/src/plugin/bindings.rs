//! Host bindings, one module per released version of the `aish:plugin` WIT package.
//! A new WIT version gets a new folder under `wit/` and a new module here; the old ones stay so
//! plugins built against them keep loading (`compat.rs` hosts them through the latest).

/// The versions of the plugin contract this aish loads, oldest first.
pub const SUPPORTED_WIT_VERSIONS: &[&str] = &["0.1.0", "0.2.0", "0.3.0"];

/// `aish:plugin@0.1.0`: HTTP and logging.
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

/// `aish:plugin@0.2.0`: adds TCP and TLS sockets for transports.
pub mod v0_2_0 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2.0",
        world: "transport-plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "aish:plugin/http.response": crate::plugin::host_http::HttpResponse,
            "aish:plugin/socket.connection": crate::plugin::host_socket::SocketConnection,
        },
    });

    /// The stage world; its `log` import is the same interface as the transport world's.
    pub mod stage {
        wasmtime::component::bindgen!({
            path: "../wit/v0.2.0",
            world: "stage-plugin",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "aish:plugin/log": super::aish::plugin::log,
            },
        });
    }
}

/// `aish:plugin@0.3.0`: adds conversations (system prompt, earlier turns) and tool-call events.
pub mod v0_3_0 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.3.0",
        world: "transport-plugin",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "aish:plugin/http.response": crate::plugin::host_http::HttpResponse,
            "aish:plugin/socket.connection": crate::plugin::host_socket::SocketConnection,
        },
    });

    /// The stage world; its `log` import is the same interface as the transport world's.
    pub mod stage {
        wasmtime::component::bindgen!({
            path: "../wit/v0.3.0",
            world: "stage-plugin",
            imports: { default: async | trappable },
            exports: { default: async },
            with: {
                "aish:plugin/log": super::aish::plugin::log,
            },
        });
    }
}
