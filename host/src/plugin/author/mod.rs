//! Tools for plugin authors, in any language: `plugin wit` writes the contract, `plugin new`
//! writes a plugin folder that builds with its language's own tools (no checkout of aish), and
//! `plugin dev` builds, installs and rebuilds on change ([`dev`]). Everything they write is
//! embedded in the binary.

pub mod dev;

use std::path::{Path, PathBuf};

use super::PluginKind;

include!(concat!(env!("OUT_DIR"), "/authoring_files.rs"));

/// The languages `plugin new` writes plugins in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    /// Rust, with the SDK (cargo, wasm32-wasip2).
    Rust,
    /// Python, with componentize-py.
    Python,
    /// JavaScript, with componentize-js.
    Js,
}

impl Language {
    /// The language named `word`.
    pub fn parse(word: &str) -> Option<Language> {
        match word {
            "rust" => Some(Language::Rust),
            "python" | "py" => Some(Language::Python),
            "js" | "javascript" => Some(Language::Js),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Js => "js",
        }
    }

    /// What the author needs installed to build.
    fn tools(self) -> &'static str {
        match self {
            Language::Rust => "rustup target add wasm32-wasip2",
            // The generated module layout changes between releases; the templates fit this one.
            Language::Python => "pip install componentize-py==0.25.1",
            Language::Js => "npm install (componentize-js, from package.json)",
        }
    }
}

/// The version of the contract this aish writes and builds plugins against.
pub fn contract_version() -> &'static str {
    CONTRACT_WIT
        .iter()
        .find_map(|(_, text)| {
            text.lines().find_map(|l| l.trim().strip_prefix("package aish:plugin@")?.strip_suffix(';'))
        })
        .unwrap_or("?")
}

/// Writes the current contract's WIT files into `dir` (created if needed); returns a report.
pub fn write_wit(dir: &Path) -> Result<String, String> {
    write_files(dir, CONTRACT_WIT.iter().map(|(path, text)| (path.to_string(), text.to_string())))?;
    Ok(format!(
        "wrote the aish:plugin@{} contract ({} files) to {}\n",
        contract_version(),
        CONTRACT_WIT.len(),
        dir.display()
    ))
}

/// Writes a new plugin folder `parent/NAME`: source with a working minimal behaviour,
/// `plugin.toml` (with its `[build]` command), a README, the WIT, and for Rust the SDK.
pub fn new_plugin(parent: &Path, name: &str, kind: PluginKind, language: Language) -> Result<String, String> {
    let usable = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !usable {
        return Err(format!(
            "`{name}` is not a usable plugin name: start with a lower-case letter, then letters, digits, - or _"
        ));
    }
    let dir = parent.join(name);
    if dir.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(format!("{} already exists and is not empty; choose another name or folder", dir.display()));
    }
    let key = format!("{}-{kind}", language.key());
    let template = TEMPLATES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, files)| *files)
        .ok_or_else(|| format!("this aish has no {key} template"))?;
    let crate_name = name.replace('-', "_");
    let fill = |text: &str| text.replace("{{name}}", name).replace("{{crate}}", &crate_name);
    let mut files: Vec<(String, String)> = template.iter().map(|(path, text)| (path.to_string(), fill(text))).collect();
    files.extend(CONTRACT_WIT.iter().map(|(path, text)| (format!("wit/{path}"), text.to_string())));
    if language == Language::Rust {
        files.extend(SDK_FILES.iter().map(|(path, text)| (format!("aish-plugin-sdk/{path}"), text.to_string())));
    }
    write_files(&dir, files.into_iter())?;
    let build = dev::BuildSpec::read(&dir).map_err(|e| e.to_string())?;
    Ok(format!(
        "created {} ({} {kind} plugin, contract {})\n  tools:   {}\n  build:   cd {} && {}\n  install: aish plugin add {}\n  or, while you work on it: aish plugin dev {}\n",
        dir.display(),
        language.key(),
        contract_version(),
        language.tools(),
        dir.display(),
        build.command,
        dir.join(&build.output).display(),
        dir.display(),
    ))
}

fn write_files(dir: &Path, files: impl Iterator<Item = (String, String)>) -> Result<(), String> {
    for (relative, text) in files {
        let path: PathBuf = dir.join(&relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_both_kinds_and_the_contract_is_current() {
        for language in ["rust", "python", "js"] {
            for kind in ["stage", "transport"] {
                let key = format!("{language}-{kind}");
                let files = TEMPLATES.iter().find(|(k, _)| *k == key).map(|(_, f)| *f);
                let files = files.unwrap_or_else(|| panic!("no {key} template"));
                assert!(files.iter().any(|(p, _)| *p == "plugin.toml"), "{key} has a plugin.toml");
                assert!(files.iter().any(|(p, _)| *p == "README.md"), "{key} has a README");
            }
        }
        assert_eq!(contract_version(), aish_plugin_sdk::WIT_VERSION);
    }

    #[test]
    fn a_new_plugin_is_written_whole_and_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let report = new_plugin(dir.path(), "shout", PluginKind::Stage, Language::Rust).unwrap();
        assert!(report.contains("cargo build --release --target wasm32-wasip2"), "{report}");
        let folder = dir.path().join("shout");
        for file in ["Cargo.toml", "src/lib.rs", "plugin.toml", "wit/stage.wit", "aish-plugin-sdk/Cargo.toml"] {
            assert!(folder.join(file).is_file(), "{file}");
        }
        let manifest = std::fs::read_to_string(folder.join("plugin.toml")).unwrap();
        assert!(manifest.contains("name = \"shout\"") && !manifest.contains("{{"), "{manifest}");
        let again = new_plugin(dir.path(), "shout", PluginKind::Stage, Language::Rust).unwrap_err();
        assert!(again.contains("already exists"), "{again}");
        assert!(new_plugin(dir.path(), "Bad Name", PluginKind::Stage, Language::Rust).is_err());
    }
}
