//! The shape of the code, checked: layers point down (nothing below the binary's `cli/` and
//! `shell/` imports them), no source file outgrows a reader, every folder under `plugins/` is
//! a plugin.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ sits in the workspace").to_path_buf()
}

/// Every `.rs` file under `dir`, skipping build output.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            found.extend(rust_files(&path));
        } else if path.extension().is_some_and(|x| x == "rs") {
            found.push(path);
        }
    }
    found
}

#[test]
fn only_the_binary_edge_imports_cli_and_shell() {
    let src = root().join("host/src");
    let edge = [src.join("cli"), src.join("shell"), src.join("main.rs")];
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        if edge.iter().any(|e| file.starts_with(e)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        if text.contains("crate::cli") || text.contains("crate::shell") || text.contains("aish::cli") {
            offenders.push(file.display().to_string());
        }
    }
    assert!(offenders.is_empty(), "layers must point down; these import cli/ or shell/: {offenders:?}");
}

#[test]
fn no_source_file_is_over_600_lines() {
    let root = root();
    let mut long = Vec::new();
    for folder in ["host", "plugin-sdk", "plugins", "crates", "examples"] {
        for file in rust_files(&root.join(folder)) {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            if lines > 600 {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "split these files: {long:?}");
}

#[test]
fn every_module_says_what_it_owns() {
    let root = root();
    let mut silent = Vec::new();
    for folder in ["host/src", "plugin-sdk/src", "plugins", "crates", "examples"] {
        for file in rust_files(&root.join(folder)) {
            let text = std::fs::read_to_string(&file).unwrap();
            if !text.starts_with("//!") {
                silent.push(file.display().to_string());
            }
        }
    }
    assert!(silent.is_empty(), "these files do not open with a `//!` comment: {silent:?}");
}

#[test]
fn every_folder_under_plugins_is_a_plugin() {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root().join("plugins")).unwrap().flatten() {
        if entry.path().is_dir() && !entry.path().join("plugin.toml").is_file() {
            missing.push(entry.path().display().to_string());
        }
    }
    assert!(missing.is_empty(), "plugins/ holds only plugins, each with a plugin.toml: {missing:?}");
}
