//! `{{name}}`: a stage plugin. It upper-cases its input as it streams through; change
//! `push` and `finish` to make it yours.

use aish_plugin_sdk::Stage;

/// One run of the stage over one input.
struct Plugin {
    /// The stage's arguments (`{{name}} ARG ...` in a pipeline).
    _args: Vec<String>,
}

impl Stage for Plugin {
    fn create(args: Vec<String>, _context: String) -> Result<Self, String> {
        Ok(Plugin { _args: args })
    }

    fn push(&mut self, chunk: &str) -> Result<String, String> {
        // Output returned here is passed on as it is ready; a stage that needs its whole input
        // keeps the chunks and answers in `finish`.
        Ok(chunk.to_uppercase())
    }

    fn finish(&mut self) -> Result<String, String> {
        Ok(String::new())
    }
}

aish_plugin_sdk::register_stage!(Plugin);
