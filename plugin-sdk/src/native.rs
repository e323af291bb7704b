//! The C ABI of trusted native stage plugins, version 1.
//!
//! A native plugin is a shared library (`NAME.so`, `NAME.dylib`) that exports one function,
//! `aish_native_stage_v1`, returning a pointer to a [`NativeStage`] table that lives as long as
//! the library. Any language that can export C functions can implement it; a Rust author
//! implements [`Stage`](crate::Stage) and calls [`register_native_stage!`](crate::register_native_stage).
//!
//! Native code runs unsandboxed in aish's process, so aish loads a native plugin only when the
//! user's config pins the library's content: `[plugins.NAME] trusted = "sha256:…"` (the line
//! `aish plugin add` prints).

use std::ffi::c_char;

/// The version of this ABI; the entry symbol's name carries it too.
pub const ABI_VERSION: u32 = 1;

/// The name of the entry symbol.
pub const ENTRY_SYMBOL: &[u8] = b"aish_native_stage_v1";

/// Runs the stage over a whole input. Every buffer is UTF-8 of the given length: `args` is a
/// JSON list of strings, `context` a JSON object. On return `*out`/`*out_len` hold the output
/// (status 0) or a one-line error (any other status), allocated by the plugin and released by
/// the host with `free`.
pub type RunFn = unsafe extern "C" fn(
    input: *const u8,
    input_len: usize,
    args: *const u8,
    args_len: usize,
    context: *const u8,
    context_len: usize,
    out: *mut *mut u8,
    out_len: *mut usize,
) -> i32;

/// Releases a buffer `run` returned.
pub type FreeFn = unsafe extern "C" fn(ptr: *mut u8, len: usize);

/// What the entry function returns.
#[repr(C)]
pub struct NativeStage {
    /// [`ABI_VERSION`].
    pub abi_version: u32,
    /// The plugin's name, NUL-terminated UTF-8.
    pub name: *const c_char,
    /// Its version, NUL-terminated UTF-8.
    pub version: *const c_char,
    /// One line about it, NUL-terminated UTF-8.
    pub description: *const c_char,
    /// Runs the stage.
    pub run: RunFn,
    /// Releases an output buffer.
    pub free: FreeFn,
}

// SAFETY: the table is immutable and its pointers refer to static data.
unsafe impl Sync for NativeStage {}

/// The entry function's type.
pub type EntryFn = unsafe extern "C" fn() -> *const NativeStage;

/// Runs a [`Stage`](crate::Stage) over one input for the exported `run`; a panic becomes an error.
#[doc(hidden)]
pub fn run_stage<T: crate::Stage>(input: &[u8], args: &[u8], context: &[u8]) -> Result<String, String> {
    let input = std::str::from_utf8(input).map_err(|_| "the input is not UTF-8".to_owned())?;
    let args: Vec<String> = parse_args(args)?;
    let context = String::from_utf8_lossy(context).into_owned();
    let outcome = std::panic::catch_unwind(|| {
        let mut stage = T::create(args, context)?;
        let mut out = stage.push(input)?;
        out.push_str(&stage.finish()?);
        Ok(out)
    });
    outcome.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        Err(format!("the plugin panicked: {why}"))
    })
}

/// A JSON list of strings, without a JSON library: the host writes it with escapes only for
/// `"`, `\` and control characters.
fn parse_args(json: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(json).map_err(|_| "the arguments are not UTF-8".to_owned())?;
    let bad = || format!("the arguments are not a JSON list of strings: {text}");
    let inner = text.trim().strip_prefix('[').and_then(|t| t.strip_suffix(']')).ok_or_else(bad)?;
    let mut args = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        match chars.next() {
            None => return Ok(args),
            Some('"') => {}
            Some(_) => return Err(bad()),
        }
        let mut arg = String::new();
        loop {
            match chars.next().ok_or_else(bad)? {
                '"' => break,
                '\\' => match chars.next().ok_or_else(bad)? {
                    'n' => arg.push('\n'),
                    't' => arg.push('\t'),
                    'r' => arg.push('\r'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                        let code = u32::from_str_radix(&hex, 16).map_err(|_| bad())?;
                        arg.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                    other => arg.push(other),
                },
                c => arg.push(c),
            }
        }
        args.push(arg);
    }
}

/// Hands `text` to the host as a buffer it will release with `free`.
#[doc(hidden)]
pub fn into_buffer(text: String) -> (*mut u8, usize) {
    let boxed = text.into_bytes().into_boxed_slice();
    let len = boxed.len();
    (Box::into_raw(boxed) as *mut u8, len)
}

/// Releases a buffer made by [`into_buffer`].
///
/// # Safety
/// `ptr` and `len` must come from one call of [`into_buffer`], released once.
#[doc(hidden)]
pub unsafe fn free_buffer(ptr: *mut u8, len: usize) {
    if !ptr.is_null() {
        // SAFETY: the caller passes back exactly what `into_buffer` produced.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
    }
}

/// Exports a [`Stage`](crate::Stage) as a native plugin (the crate must be a `cdylib`):
/// `aish_plugin_sdk::register_native_stage!(Upper, "upper", "0.1.0", "capitals");`
#[macro_export]
macro_rules! register_native_stage {
    ($stage:ty, $name:literal, $version:literal, $description:literal) => {
        const _: () = {
            use $crate::native::{ABI_VERSION, NativeStage};

            unsafe extern "C" fn run(
                input: *const u8,
                input_len: usize,
                args: *const u8,
                args_len: usize,
                context: *const u8,
                context_len: usize,
                out: *mut *mut u8,
                out_len: *mut usize,
            ) -> i32 {
                // SAFETY: the host passes valid buffers of the given lengths and valid out pointers.
                let (input, args, context) = unsafe {
                    (
                        std::slice::from_raw_parts(input, input_len),
                        std::slice::from_raw_parts(args, args_len),
                        std::slice::from_raw_parts(context, context_len),
                    )
                };
                let (status, text) = match $crate::native::run_stage::<$stage>(input, args, context) {
                    Ok(text) => (0, text),
                    Err(error) => (1, error),
                };
                let (ptr, len) = $crate::native::into_buffer(text);
                // SAFETY: see above.
                unsafe {
                    *out = ptr;
                    *out_len = len;
                }
                status
            }

            unsafe extern "C" fn free(ptr: *mut u8, len: usize) {
                // SAFETY: the host releases each buffer `run` returned once.
                unsafe { $crate::native::free_buffer(ptr, len) }
            }

            static TABLE: NativeStage = NativeStage {
                abi_version: ABI_VERSION,
                name: concat!($name, "\0").as_ptr().cast(),
                version: concat!($version, "\0").as_ptr().cast(),
                description: concat!($description, "\0").as_ptr().cast(),
                run,
                free,
            };

            #[unsafe(no_mangle)]
            extern "C" fn aish_native_stage_v1() -> *const NativeStage {
                &TABLE
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip() {
        assert_eq!(parse_args(br#"["a", "b \"c\"", "\u00e9\n"]"#).unwrap(), vec!["a", "b \"c\"", "é\n"]);
        assert_eq!(parse_args(b"[]").unwrap(), Vec::<String>::new());
        assert!(parse_args(b"{}").is_err());
    }
}
