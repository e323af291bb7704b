//! An example native stage plugin (`examples/native-upper`, a shared library, not a WebAssembly
//! plugin): `upper [PREFIX]` upper-cases its input (and puts PREFIX before it). Native code runs
//! unsandboxed, so aish loads it only when the config says `[plugins.upper] trusted = true`.
//! Build it from the workspace with `cargo build --release -p aish-native-upper` and install it
//! with `aish plugin add --name upper target/release/libaish_native_upper.so`.

use aish_plugin_sdk::Stage;

/// The plugin.
pub struct Upper {
    prefix: String,
    text: String,
}

impl Stage for Upper {
    fn create(args: Vec<String>, _context: String) -> Result<Self, String> {
        if args.iter().any(|a| a == "--panic") {
            panic!("asked to panic");
        }
        Ok(Upper { prefix: args.join(" "), text: String::new() })
    }

    fn push(&mut self, chunk: &str) -> Result<String, String> {
        self.text.push_str(&chunk.to_uppercase());
        Ok(String::new())
    }

    fn finish(&mut self) -> Result<String, String> {
        if self.prefix.is_empty() {
            Ok(std::mem::take(&mut self.text))
        } else {
            Ok(format!("{} {}", self.prefix, self.text))
        }
    }
}

aish_plugin_sdk::register_native_stage!(Upper, "upper", "0.1.0", "upper-cases its input (example native plugin)");
