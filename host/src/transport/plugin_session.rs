//! A live conversation with one transport plugin instance (connect, send, receive, heartbeat,
//! close), whichever contract version it was built against: calls go through per-version
//! bindings and what comes back is converted to the host's own types.

use std::time::Duration;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::{ConnectOptions, ErrorKind, Event, Outgoing, Role, ToolCall, TransportError, Usage};
use crate::plugin::kept;
use crate::plugin::runtime::{CallWatch, HostState, TransportPre, continue_call, describe_trap, start_call};
use crate::plugin::{v0_1_0, v0_2_0, v0_3_0};

/// A transport instance between answers.
pub(crate) type Instance = kept::Instance<Bindings>;
/// Where a transport instance goes back to after its answer.
pub(crate) type Home = kept::Home<Bindings>;

/// A plugin instance's exports, by the contract version it was built against.
pub(crate) enum Bindings {
    V0_1(v0_1_0::TransportPlugin),
    V0_2(v0_2_0::TransportPlugin),
    V0_3(v0_3_0::TransportPlugin),
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
            Bindings::V0_3(bindings) => {
                let $stream = bindings.aish_plugin_transport().stream_wrapper();
                $call.map(|result| result.map(FromWit::from_wit).map_err(FromWit::from_wit))
            }
        }
    };
}

/// One conversation with one plugin instance.
pub struct TransportSession {
    store: Store<HostState>,
    bindings: Bindings,
    handle: ResourceAny,
    /// The instance trapped; it must not be called again.
    dead: bool,
    /// A call into the plugin began and has not returned: true after one whose future was
    /// dropped (a timeout, Ctrl-C), which leaves the instance half-way through it. Wasmtime
    /// refuses further calls into such an instance, but keeping it must not rest on that.
    in_call: bool,
    /// Where the instance is kept once the answer has ended cleanly; `None` for a plugin whose
    /// instances are not reused.
    home: Option<Home>,
    /// The last `receive` returned only heartbeats: the next one's compute adds to it, so a
    /// plugin that answers heartbeats at once, for ever, meets its time limit like any loop.
    only_heartbeats: bool,
}

impl TransportSession {
    /// Instantiates a prepared plugin in `store`.
    pub(crate) async fn instantiate(
        mut store: Store<HostState>,
        pre: TransportPre,
    ) -> Result<Instance, TransportError> {
        let watch = start_call(&mut store);
        let bindings = match pre {
            TransportPre::V0_1(pre) => watch.run(pre.instantiate_async(&mut store)).await.map(Bindings::V0_1),
            TransportPre::V0_2(pre) => watch.run(pre.instantiate_async(&mut store)).await.map(Bindings::V0_2),
            TransportPre::V0_3(pre) => watch.run(pre.instantiate_async(&mut store)).await.map(Bindings::V0_3),
        }
        .map_err(|e| trap(&store, &e))?;
        Ok(Instance { store, bindings })
    }

    /// Connects with `options` through `instance` (fresh, or kept from an earlier answer),
    /// which goes back `home` after a clean close, or after `connect` returned an error.
    pub(crate) async fn connect(
        instance: Instance,
        home: Option<Home>,
        options: &ConnectOptions,
    ) -> Result<TransportSession, TransportError> {
        let Instance { mut store, bindings } = instance;
        let watch = start_call(&mut store);
        let result =
            each_version!(&bindings, stream => watch.run(stream.call_connect(&mut store, &options.into())).await);
        match result {
            Ok(Ok(handle)) => Ok(TransportSession {
                store,
                bindings,
                handle,
                dead: false,
                in_call: false,
                home,
                only_heartbeats: false,
            }),
            // The plugin refused cleanly, making no resource: its instance is still usable.
            Ok(Err(e)) => {
                if let Some(home) = home {
                    home.keep(Instance { store, bindings });
                }
                Err(e)
            }
            Err(e) => Err(trap(&store, &e)),
        }
    }

    /// Sends a message.
    pub async fn send(&mut self, message: &Outgoing) -> Result<(), TransportError> {
        let watch = self.begin_call(false)?;
        let result = each_version!(&self.bindings, stream => watch.run(stream.call_send(&mut self.store, self.handle, &message.into())).await);
        self.settle(result)?
    }

    /// The next events; an empty list once the stream has ended.
    pub async fn receive(&mut self) -> Result<Vec<Event>, TransportError> {
        let watch = self.begin_call(self.only_heartbeats)?;
        let result =
            each_version!(&self.bindings, stream => watch.run(stream.call_receive(&mut self.store, self.handle)).await);
        let events: Result<Vec<Event>, TransportError> = self.settle(result)?;
        // A heartbeat after a real wait (a keep-alive that arrived) starts the next call afresh.
        self.only_heartbeats = !self.store.data().clock.waited_on_network()
            && events.as_ref().is_ok_and(|events| !events.is_empty() && events.iter().all(|e| *e == Event::Heartbeat));
        events
    }

    /// Asks the plugin to prove the connection is alive.
    pub async fn heartbeat(&mut self) -> Result<(), TransportError> {
        let watch = self.begin_call(false)?;
        let result = each_version!(&self.bindings, stream => watch.run(stream.call_heartbeat(&mut self.store, self.handle)).await);
        self.settle(result)?
    }

    /// Closes the connection and frees the plugin's resource.
    pub async fn close(mut self) {
        if self.dead || self.in_call {
            return;
        }
        // Watched like any call: a plugin that sleeps in `close` must not hold up the answer's end.
        let watch = start_call(&mut self.store);
        let closed = match &self.bindings {
            Bindings::V0_1(bindings) => {
                watch
                    .run(bindings.aish_plugin_transport().stream_wrapper().call_close(&mut self.store, self.handle))
                    .await
            }
            Bindings::V0_2(bindings) => {
                watch
                    .run(bindings.aish_plugin_transport().stream_wrapper().call_close(&mut self.store, self.handle))
                    .await
            }
            Bindings::V0_3(bindings) => {
                watch
                    .run(bindings.aish_plugin_transport().stream_wrapper().call_close(&mut self.store, self.handle))
                    .await
            }
        };
        if closed.is_ok()
            && self.store.data().call_watch().run(self.handle.resource_drop_async(&mut self.store)).await.is_ok()
            && let Some(home) = self.home
        {
            home.keep(Instance { store: self.store, bindings: self.bindings });
        }
    }

    /// Starts a call (`continuing` the last one's compute, see [`continue_call`]); what watches it.
    fn begin_call(&mut self, continuing: bool) -> Result<CallWatch, TransportError> {
        if self.dead {
            return Err(TransportError::new(ErrorKind::Plugin, "the plugin stopped earlier in this answer"));
        }
        let watch = if continuing { continue_call(&mut self.store) } else { start_call(&mut self.store) };
        self.in_call = true;
        Ok(watch)
    }

    fn settle<T>(&mut self, result: wasmtime::Result<T>) -> Result<T, TransportError> {
        self.in_call = false;
        self.store.data_mut().call_ended = std::time::Instant::now();
        result.map_err(|e| {
            self.dead = true;
            trap(&self.store, &e)
        })
    }
}

fn trap(store: &Store<HostState>, error: &wasmtime::Error) -> TransportError {
    TransportError::new(ErrorKind::Plugin, describe_trap(store, error))
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
    };
}

wit_conversions!(v0_1_0);
wit_conversions!(v0_2_0);
wit_conversions!(v0_3_0);

/// The events every version yields, as the host's; `$extra` adds the arms of the events a
/// version introduced (0.3.0: tool calls).
macro_rules! wit_events {
    ($version:ident { $($extra:tt)* }) => {
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
                    $($extra)*
                }
            }
        }
    };
}

wit_events!(v0_1_0 {});
wit_events!(v0_2_0 {});
wit_events!(v0_3_0 {
    Wit::ToolCall(call) => Event::ToolCall(ToolCall { id: call.id, name: call.name, arguments: call.arguments }),
});

/// The message as the versions before conversations take it: alone, with no system prompt and
/// no earlier turns.
macro_rules! message_alone {
    ($version:ident) => {
        impl From<&Outgoing> for $version::aish::plugin::types::Outgoing {
            fn from(message: &Outgoing) -> Self {
                Self { message: message.message.clone(), context: message.context.to_string(), stream: message.stream }
            }
        }
    };
}

message_alone!(v0_1_0);
message_alone!(v0_2_0);

impl From<&Outgoing> for v0_3_0::aish::plugin::types::Outgoing {
    fn from(message: &Outgoing) -> Self {
        use v0_3_0::aish::plugin::types::{Role as WitRole, Turn as WitTurn};
        let history = message
            .history
            .iter()
            .map(|turn| WitTurn {
                role: match turn.role {
                    Role::User => WitRole::User,
                    Role::Assistant => WitRole::Assistant,
                },
                content: turn.content.clone(),
            })
            .collect();
        Self {
            message: message.message.clone(),
            context: message.context.to_string(),
            stream: message.stream,
            system: message.system.clone(),
            history,
        }
    }
}
