//! The plugin toolchains of other languages, installed on first use into a cache beside the
//! build (`target/plugin-tools/`), so that the one test command runs everything on a fresh
//! machine: componentize-py from PyPI, componentize-js from npm. Versions are pinned; a file
//! lock keeps parallel tests from installing twice.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// componentize-py's version.
pub const COMPONENTIZE_PY: &str = "0.25.1";
/// componentize-js's version.
pub const COMPONENTIZE_JS: &str = "0.23.0";

fn cache() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let dir = if target.is_absolute() { target } else { root.join(target) }.join("plugin-tools");
    std::fs::create_dir_all(&dir).expect("create the plugin tool cache");
    dir
}

/// Runs `install` once per `marker`, under a lock shared by every test process.
fn once(marker: &Path, install: impl FnOnce()) {
    let lock = File::create(cache().join(".lock")).expect("lock file");
    lock.lock().expect("lock the plugin tool cache");
    if !marker.exists() {
        install();
        std::fs::write(marker, "").expect("marker");
    }
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The folder holding the `componentize-py` command (a virtual environment's `bin`).
pub fn componentize_py() -> PathBuf {
    let venv = cache().join(format!("componentize-py-{COMPONENTIZE_PY}"));
    once(&venv.join(".installed"), || {
        let _ = std::fs::remove_dir_all(&venv);
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv (install Python 3.10+)");
        run(
            Command::new(venv.join("bin/pip")).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                &format!("componentize-py=={COMPONENTIZE_PY}"),
            ]),
            "pip install componentize-py",
        );
    });
    venv.join("bin")
}

/// The `node_modules` folder holding componentize-js.
pub fn componentize_js() -> PathBuf {
    let prefix = cache().join(format!("componentize-js-{COMPONENTIZE_JS}"));
    once(&prefix.join(".installed"), || {
        std::fs::create_dir_all(&prefix).expect("create the npm prefix");
        run(
            Command::new("npm").arg("install").arg("--prefix").arg(&prefix).args([
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                &format!("@bytecodealliance/componentize-js@{COMPONENTIZE_JS}"),
            ]),
            "npm install componentize-js (install Node.js 18+)",
        );
    });
    prefix.join("node_modules")
}

/// `PATH` with `dir` first.
pub fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    std::env::join_paths(paths).expect("PATH")
}
