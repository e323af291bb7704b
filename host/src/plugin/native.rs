//! Trusted native stage plugins: shared libraries loaded with libloading through the versioned
//! C ABI in `aish_plugin_sdk::native`. Only loaded when the config trusts them, pinned by the
//! SHA-256 of their content (`[plugins.NAME] trusted = "sha256:<hex>"`), because opening a
//! library runs its code, unsandboxed, in aish's process.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

use aish_plugin_sdk::native::{ABI_VERSION, ENTRY_SYMBOL, EntryFn, NativeStage};
use sha2::{Digest, Sha256};

use crate::config::Trust;

/// Why a native plugin cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// The config does not trust it.
    #[error(
        "plugin `{0}` is native code, which runs unsandboxed with your rights; aish loads it only when config.toml pins its content with [plugins.{0}] trusted = \"sha256:…\" (`aish plugin add` printed the line; `aish plugin info {0}` shows the hash)"
    )]
    Untrusted(String),
    /// The library is not the one the config trusts.
    #[error(
        "plugin `{name}` is not the library you trusted: config.toml pins sha256:{pinned}, and {} is sha256:{actual}; it was not loaded (if you trust the new file, write [plugins.{name}] trusted = \"sha256:{actual}\")",
        path.display()
    )]
    Changed {
        /// The plugin's name.
        name: String,
        /// The file.
        path: PathBuf,
        /// The hash in the config, in hex.
        pinned: String,
        /// The file's hash, in hex.
        actual: String,
    },
    /// No native plugin of that name is installed.
    #[error("no native plugin named `{0}` is installed; `aish plugin list` shows what is")]
    NotFound(String),
    /// The library could not be opened or is not an aish plugin.
    #[error("native plugin {}: {why}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// The SHA-256 of a file, in lower-case hex.
pub fn file_sha256(path: &Path) -> Result<String, NativeError> {
    let bytes = std::fs::read(path)
        .map_err(|e| NativeError::Invalid { path: path.to_path_buf(), why: format!("cannot read it: {e}") })?;
    Ok(hex(&Sha256::digest(&bytes).into()))
}

/// The config line that trusts the library with hash `sha256` (hex) under `name`.
pub fn trust_line(name: &str, sha256: &str) -> String {
    format!("[plugins.{name}]\ntrusted = \"sha256:{sha256}\"")
}

/// Checks that the config trusts native plugin `name` at `path`: `Ok(None)` when its content is
/// the pinned one, `Ok(Some(warning))` for the deprecated `trusted = true` (the warning says
/// what to write instead).
pub fn check_trust(name: &str, path: &Path, trust: &Trust) -> Result<Option<String>, NativeError> {
    match trust {
        Trust::No => Err(NativeError::Untrusted(name.to_owned())),
        Trust::Unpinned => {
            let actual = file_sha256(path)?;
            Ok(Some(format!(
                "[plugins.{name}] trusted = true is deprecated and stops working in the next release, because it trusts whatever the file becomes; pin this library's content instead: {}",
                trust_line(name, &actual).replace('\n', " ")
            )))
        }
        Trust::Sha256(pinned) => {
            let actual = file_sha256(path)?;
            let pinned = hex(pinned);
            if actual != pinned {
                return Err(NativeError::Changed { name: name.to_owned(), path: path.to_path_buf(), pinned, actual });
            }
            Ok(None)
        }
    }
}

fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A loaded native stage plugin.
pub struct NativeLibrary {
    table: *const NativeStage,
    /// Its name, version and description as it reports them.
    pub name: String,
    /// Its version.
    pub version: String,
    /// One line about it.
    pub description: String,
    // Declared last: the library must outlive the table pointer read from it.
    _library: libloading::Library,
}

// SAFETY: the table is immutable static data in the library, which lives as long as this value;
// the ABI requires `run` and `free` to be callable from any thread.
unsafe impl Send for NativeLibrary {}
// SAFETY: as above; nothing here is mutated after loading.
unsafe impl Sync for NativeLibrary {}

/// Checks, without opening it (opening runs its code), that `path` looks like a shared library
/// of the kind its `extension` names and, for ELF, built for this machine: a file that is not
/// one is refused at `plugin add`, not once the user has pinned it.
pub fn check_library_file(path: &Path, extension: &str) -> Result<(), String> {
    let mut head = [0u8; 20];
    let read = std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read(&mut file, &mut head))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let head = &head[..read];
    let build = "build it as a cdylib with aish-plugin-sdk's register_native_stage!";
    // Any of the three formats, whatever the extension says (macOS opens a Mach-O `.so` too).
    let elf = head.starts_with(b"\x7fELF");
    let mach_o = [
        [0xfe, 0xed, 0xfa, 0xce],
        [0xfe, 0xed, 0xfa, 0xcf],
        [0xce, 0xfa, 0xed, 0xfe],
        [0xcf, 0xfa, 0xed, 0xfe],
        [0xca, 0xfe, 0xba, 0xbe],
    ]
    .iter()
    .any(|magic| head.starts_with(magic));
    if !(elf || mach_o || head.starts_with(b"MZ")) {
        return Err(format!("{} is not a shared library (.{extension}): {build}", path.display()));
    }
    if elf && head.len() >= 20 {
        // Big-endian (EI_DATA 2): no machine aish runs on.
        if head[5] != 1 {
            return Err(format!(
                "{} is a shared library for another machine (big-endian): build it for {}",
                path.display(),
                std::env::consts::ARCH
            ));
        }
        // e_type (shared object: 3) and e_machine.
        let (kind, machine) = (u16::from_le_bytes([head[16], head[17]]), u16::from_le_bytes([head[18], head[19]]));
        if kind != 3 {
            return Err(format!("{} is an ELF file but not a shared library: {build}", path.display()));
        }
        let ours = match std::env::consts::ARCH {
            "x86_64" => Some(62),
            "aarch64" => Some(183),
            "x86" => Some(3),
            "arm" => Some(40),
            "riscv64" => Some(243),
            _ => None,
        };
        if ours.is_some_and(|ours| ours != machine) {
            return Err(format!(
                "{} is a shared library for another machine (ELF machine {machine}): build it for {}",
                path.display(),
                std::env::consts::ARCH
            ));
        }
    }
    Ok(())
}

impl NativeLibrary {
    /// Opens a trusted plugin library and checks its ABI.
    pub fn open(path: &Path) -> Result<NativeLibrary, NativeError> {
        let invalid = |why: String| NativeError::Invalid { path: path.to_path_buf(), why };
        // SAFETY: the user marked this plugin trusted; its initialisers run as any library's do.
        let library = unsafe { libloading::Library::new(path) }.map_err(|e| {
            // The loader's message names the file again, which the error already does.
            let why = e.to_string().replace(&format!("{}: ", path.display()), "");
            invalid(format!("cannot load it: {why}"))
        })?;
        // SAFETY: the symbol is declared by the ABI with exactly this signature.
        let entry = unsafe { library.get::<EntryFn>(ENTRY_SYMBOL) }.map_err(|_| {
            invalid(
                "it exports no aish_native_stage_v1 (build it with aish-plugin-sdk's register_native_stage!)".into(),
            )
        })?;
        // SAFETY: calling the entry function is what the ABI is for; it returns a static table.
        let table = unsafe { entry() };
        if table.is_null() {
            return Err(invalid("its entry function returned nothing".into()));
        }
        // SAFETY: non-null, and the ABI says it points to a NativeStage that lives with the library.
        let stage = unsafe { &*table };
        if stage.abi_version != ABI_VERSION {
            return Err(invalid(format!(
                "it speaks native ABI {}, and this aish speaks {ABI_VERSION}; rebuild it",
                stage.abi_version
            )));
        }
        let text = |ptr: *const std::ffi::c_char| {
            if ptr.is_null() {
                return String::new();
            }
            // SAFETY: the ABI requires NUL-terminated strings that live with the library.
            unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
        };
        Ok(NativeLibrary {
            name: text(stage.name),
            version: text(stage.version),
            description: text(stage.description),
            table,
            _library: library,
        })
    }

    /// Runs the stage over `input`; the error is the plugin's one line.
    pub fn run(&self, args: &[String], context: &str, input: &str) -> Result<String, String> {
        let args = serde_json::to_string(args).unwrap_or_else(|_| "[]".into());
        let (mut out, mut out_len) = (std::ptr::null_mut::<u8>(), 0usize);
        // SAFETY: `table` is valid while `self` lives; the buffers are valid for their lengths,
        // and the out pointers point to locals.
        let status = unsafe {
            ((*self.table).run)(
                input.as_ptr(),
                input.len(),
                args.as_ptr(),
                args.len(),
                context.as_ptr(),
                context.len(),
                &mut out,
                &mut out_len,
            )
        };
        let text = if out.is_null() {
            String::new()
        } else {
            // SAFETY: the plugin returned a buffer of `out_len` bytes, released right after.
            let text = String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(out, out_len) }).into_owned();
            // SAFETY: each buffer `run` returned is released once, with the plugin's own `free`.
            unsafe { ((*self.table).free)(out, out_len) };
            text
        };
        if status == 0 { Ok(text) } else { Err(crate::text::one_line(&text, usize::MAX)) }
    }
}
