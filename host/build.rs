//! Builds every plugin crate in the workspace for `wasm32-wasip2` and embeds the built-in ones
//! (those under `plugins/`) in the `aish` binary, so they are there with no copying.
//! Plugins under `tests/plugins/` are built too, for the test suite, but not embedded.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, exit};

use sha2::Digest as _;

// The same reading of a component's manifest section and exports that aish does for user
// plugins, done here once for the built-in ones.
#[path = "src/plugin/parts.rs"]
mod parts;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

fn main() {
    let host_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = host_dir.parent().expect("host/ sits in the workspace").to_path_buf();
    // Cargo.toml holds the plugins' build profile.
    for watched in
        ["wit", "plugin-sdk", "crates", "plugins", "tests/plugins", "Cargo.toml", "Cargo.lock", "host/templates"]
    {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let builtin = plugin_crates(&root.join("plugins"));
    let testing = plugin_crates(&root.join("tests/plugins"));
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"))
        .join("plugins");

    check_target_installed();
    // One cargo run per plugin: each turns on only its own kind in the SDK, and a run
    // with several would unify those features.
    for (package, _) in builtin.iter().chain(&testing) {
        build_plugin(&root, &target_dir, package);
    }

    let artifacts = target_dir.join(TARGET).join(PROFILE);
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut code = String::from("/// The plugins built into aish.\n");
    code.push_str("pub const BUILTIN_PLUGINS: &[Builtin] = &[\n");
    for (package, name) in &builtin {
        let wasm = artifacts.join(format!("{}.wasm", package.replace('-', "_")));
        // Hashed here, once, rather than by every start of aish; the copy hashed is the copy
        // embedded, so another build rewriting the plugin meanwhile cannot split the two.
        let bytes = fs::read(&wasm).unwrap_or_else(|e| panic!("read {}: {e}", wasm.display()));
        let sha256: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        let embedded = out_dir.join(format!("{name}.wasm"));
        fs::write(&embedded, &bytes).unwrap_or_else(|e| panic!("write {}: {e}", embedded.display()));
        let parts = parts::read(&bytes).unwrap_or_else(|why| panic!("{}: {why}", wasm.display()));
        let manifest = parts.section.unwrap_or_else(|| panic!("{} has no manifest section", wasm.display()));
        code.push_str(&format!(
            "    Builtin {{ name: {name:?}, bytes: include_bytes!({:?}), sha256: {sha256:?}, manifest: {manifest:?}, \
             exports: &{:?} }},\n",
            embedded.display().to_string(),
            parts.exports
        ));
    }
    code.push_str("];\n");
    fs::write(out_dir.join("builtin_plugins.rs"), code).expect("write builtin_plugins.rs");
    fs::write(out_dir.join("authoring_files.rs"), authoring_files(&root)).expect("write authoring_files.rs");
    println!("cargo:rustc-env=AISH_PLUGIN_ARTIFACTS={}", artifacts.display());
}

/// The files `aish plugin wit` and `aish plugin new` write, embedded so that an installed aish
/// needs no checkout: the current contract, the SDK, and one template per language and kind.
fn authoring_files(root: &Path) -> String {
    let sdk = root.join("plugin-sdk");
    let version = fs::read_to_string(sdk.join("src/lib.rs"))
        .ok()
        .and_then(|lib| {
            lib.lines().find_map(|l| Some(l.split_once("WIT_VERSION: &str = \"")?.1.split('"').next()?.to_owned()))
        })
        .expect("plugin-sdk/src/lib.rs names WIT_VERSION");
    let mut code = String::new();
    let mut table = |name: &str, doc: &str, dir: &Path, skip: &[&str]| {
        let mut files = Vec::new();
        walk(dir, dir, skip, &mut files);
        files.sort();
        code.push_str(&format!("/// {doc}\npub const {name}: &[(&str, &str)] = &[\n"));
        for (relative, path) in files {
            code.push_str(&format!("    ({relative:?}, include_str!({:?})),\n", path.display().to_string()));
        }
        code.push_str("];\n");
    };
    table("CONTRACT_WIT", "The current contract's WIT files.", &root.join("wit").join(format!("v{version}")), &[]);
    table("SDK_FILES", "The Rust SDK's sources and WIT.", &sdk, &["target", "Cargo.lock"]);
    let templates = root.join("host/templates");
    let mut kinds: Vec<String> = fs::read_dir(&templates)
        .map(|e| {
            e.flatten().filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().into_owned()).collect()
        })
        .unwrap_or_default();
    kinds.sort();
    let mut list = String::from(
        "/// Plugin templates: (`LANG-KIND`, files).\npub const TEMPLATES: &[(&str, &[(&str, &str)])] = &[\n",
    );
    for kind in &kinds {
        let constant = format!("TEMPLATE_{}", kind.to_uppercase().replace('-', "_"));
        table(&constant, &format!("The `{kind}` template."), &templates.join(kind), &["node_modules", "wit"]);
        list.push_str(&format!("    ({kind:?}, {constant}),\n"));
    }
    list.push_str("];\n");
    code + &list
}

/// Every file under `dir` (but the names in `skip`): (path relative to `base`, full path).
fn walk(base: &Path, dir: &Path, skip: &[&str], out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Build output and caches a local build of a template may leave behind.
        if skip.contains(&name.as_str()) || name.ends_with(".wasm") || name == "__pycache__" || name == "target" {
            continue;
        }
        if path.is_dir() {
            walk(base, &path, skip, out);
        } else {
            let relative = path.strip_prefix(base).expect("under base").to_string_lossy().into_owned();
            out.push((relative, path));
        }
    }
}

/// Crates under `dir` that carry a `plugin.toml`: (package name, plugin name).
fn plugin_crates(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<(String, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let manifest = fs::read_to_string(path.join("plugin.toml")).ok()?;
            let cargo = fs::read_to_string(path.join("Cargo.toml")).ok()?;
            Some((toml_string(&cargo, "name")?, toml_string(&manifest, "name")?))
        })
        .collect();
    found.sort();
    found
}

/// The first top-level `key = "value"` in a TOML file (enough for a package or plugin name).
fn toml_string(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn check_target_installed() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output();
    let installed = sysroot.is_ok_and(|o| {
        let root = String::from_utf8_lossy(&o.stdout).trim().to_owned();
        Path::new(&root).join("lib/rustlib").join(TARGET).exists()
    });
    if !installed {
        eprintln!("error: aish builds its plugins for {TARGET}; run `rustup target add {TARGET}` first");
        exit(1);
    }
}

fn build_plugin(root: &Path, target_dir: &Path, package: &str) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--quiet", "--profile", PROFILE, "--target", TARGET, "--package", package])
        .env("CARGO_TARGET_DIR", target_dir);
    // The outer build's flags and wrappers (clippy's, coverage's) are for the host, not plugins.
    for var in
        ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER", "RUSTC_WRAPPER", "CARGO_BUILD_TARGET"]
    {
        cmd.env_remove(var);
    }
    // WebAssembly SIMD, so line ends are found 16 bytes at a time. wasmtime runs it on x86-64
    // hosts with SSE4.1 (every x86-64 CPU since 2008) and on aarch64.
    cmd.env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128");
    let status = cmd.status().unwrap_or_else(|e| {
        eprintln!("error: cannot run cargo to build plugin {package}: {e}");
        exit(1);
    });
    if !status.success() {
        eprintln!("error: building plugin {package} for {TARGET} failed (see above)");
        exit(1);
    }
}
