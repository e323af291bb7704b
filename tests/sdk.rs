//! The plugin SDK stands alone: its copy of the WIT is the contract it names, byte for byte,
//! and the `plugin-sdk/` folder copied out of the repository builds the README's echo
//! transport, which aish then loads and streams through.

use std::path::{Path, PathBuf};

use crate::support::{aish, build_standalone, home};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ sits in the workspace").to_path_buf()
}

/// The `.wit` files of a folder: (file name, bytes), sorted by name.
fn wit_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|x| x == "wit"))
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn the_sdk_wit_is_the_contract_version_it_names() {
    let root = root();
    let sdk = wit_files(&root.join("plugin-sdk/wit"));
    assert!(!sdk.is_empty(), "plugin-sdk/wit holds the WIT the SDK binds");
    let text = String::from_utf8_lossy(&sdk[0].1).into_owned();
    let version = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("package aish:plugin@")?.strip_suffix(';'))
        .expect("a `package aish:plugin@VERSION;` line");
    let contract = wit_files(&root.join("wit").join(format!("v{version}")));
    let names = |files: &[(String, Vec<u8>)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&sdk), names(&contract), "plugin-sdk/wit and wit/v{version} hold the same files");
    for ((name, ours), (_, theirs)) in sdk.iter().zip(&contract) {
        assert!(ours == theirs, "plugin-sdk/wit/{name} differs from wit/v{version}/{name}: copy it over");
    }
    let lib = std::fs::read_to_string(root.join("plugin-sdk/src/lib.rs")).unwrap();
    assert!(lib.contains(&format!("WIT_VERSION: &str = \"{version}\"")), "WIT_VERSION names {version}");
    assert!(lib.contains(&format!("wit = \\\"{version}\\\"")), "the embedded manifest names {version}");
}

/// The code blocks of the README's "Writing a plugin" section, in order: (language, text).
fn readme_plugin_blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("### Writing a plugin").expect("the README has a `Writing a plugin` section");
    let section = &readme[start + 3..];
    let end = ["\n## ", "\n### "].iter().filter_map(|h| section.find(h)).min().unwrap_or(section.len());
    let section = &section[..end];
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if let Some(language) = line.strip_prefix("```") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
            blocks.push((language.to_owned(), body.join("\n") + "\n"));
        }
    }
    blocks
}

/// Copies a folder tree (the SDK has no build output of its own).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                copy_tree(&path, &to.join(entry.file_name()));
            }
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn the_sdk_copied_alone_builds_the_readme_echo_transport() {
    let root = root();
    let dir = tempfile::tempdir().unwrap();
    let sdk = dir.path().join("plugin-sdk");
    copy_tree(&root.join("plugin-sdk"), &sdk);

    let blocks = readme_plugin_blocks();
    let block = |language: &str, nth: usize| {
        let found = blocks.iter().filter(|(l, _)| l == language).nth(nth);
        found.unwrap_or_else(|| panic!("README `Writing a plugin`: no {language} block {nth}")).1.clone()
    };
    // The first toml block is the manifest reference; then the echo transport's two files.
    let (cargo, manifest, code) = (block("toml", 1), block("toml", 2), block("rust", 0));
    let dependency = "path = \"aish-plugin-sdk\"";
    assert!(cargo.contains(dependency), "the README's Cargo.toml depends on the SDK by path:\n{cargo}");
    let cargo = cargo.replace(dependency, &format!("path = {:?}", sdk.display().to_string()));
    let crate_dir = dir.path().join("echo");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    // An empty [workspace]: this crate is its own workspace, not part of any folder above it.
    std::fs::write(crate_dir.join("Cargo.toml"), cargo + "\n[workspace]\n").unwrap();
    std::fs::write(crate_dir.join("plugin.toml"), manifest).unwrap();
    std::fs::write(crate_dir.join("src/lib.rs"), code).unwrap();
    // The workspace's lock pins the SDK's dependencies: no resolving, nothing new to download.

    // A target folder that outlives the test, so a rerun only rebuilds the two small crates.
    let wasm = build_standalone(&crate_dir, "echo_transport");
    assert!(wasm.exists(), "{} was built", wasm.display());

    let home = home();
    let add = aish(home.path(), &["plugin", "add", wasm.to_str().unwrap()], None);
    assert_eq!(add.code, 0, "{add:?}");
    let probe = aish(
        home.path(),
        &["transport", "probe", "--transport", "echo", "http://127.0.0.1:9/", "hello plugin world"],
        None,
    );
    assert_eq!(probe.code, 0, "{probe:?}");
    let lines: Vec<serde_json::Value> = probe.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let tokens: String = lines.iter().filter(|l| l["type"] == "token").filter_map(|l| l["text"].as_str()).collect();
    assert_eq!(tokens, "hello plugin world ", "{lines:?}");
    assert_eq!(lines.last().map(|l| l["type"].clone()), Some(serde_json::json!("done")), "{lines:?}");
}
