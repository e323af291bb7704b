//! The registry of providers: one module per AI backend's wire format. Adding a provider is a
//! new file here implementing [`Provider`] and one line in the `providers!` list below.

use crate::provider::Provider;

/// Declares each provider's module and lists a constructor for each, in the given order.
macro_rules! providers {
    ($($module:ident::$provider:ident),* $(,)?) => {
        $(mod $module;)*

        /// A fresh instance of every provider (each is a unit or small struct, so this is cheap).
        const ALL: &[fn() -> Box<dyn Provider>] = &[$(|| Box::new($module::$provider::default())),*];
    };
}

providers! {
    aish::Aish,
    rhetor::Rhetor,
    openai::OpenAi,
    anthropic::Anthropic,
    ollama::Ollama,
    responses::Responses,
    gemini::Gemini,
    raw::Raw,
}

/// The provider the config calls `name`.
pub(crate) fn find(name: &str) -> Option<Box<dyn Provider>> {
    ALL.iter().map(|make| make()).find(|provider| provider.name() == name)
}

/// Every provider's name, for an error that lists the choices.
pub(crate) fn names() -> Vec<&'static str> {
    ALL.iter().map(|make| make().name()).collect()
}
