//! The `Stage` trait, shared by WebAssembly and native stage plugins.

/// A pipeline stage: text in, text out, with the pipeline context at hand.
pub trait Stage: Sized + 'static {
    /// Starts one run with the stage's arguments and the context (a JSON object as text).
    fn create(args: Vec<String>, context: String) -> Result<Self, String>;

    /// Takes the next piece of input and returns the output that is ready (a stage that needs
    /// the whole input keeps it and returns an empty string).
    fn push(&mut self, chunk: &str) -> Result<String, String>;

    /// The input has ended; returns the rest of the output.
    fn finish(&mut self) -> Result<String, String>;
}
