//! Trusted native stage plugins: the example in examples/native-upper, built by this test,
//! refused until the config pins its content, then run between AIs; a changed file is refused
//! naming both hashes; the old `trusted = true` still loads, with a warning saying what to
//! write; a panic in it is one error line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::support::{aish, home, write_config};

/// The SHA-256 of a file, in hex.
fn sha256(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The config lines that trust the library at `path` as `name`.
fn pin(name: &str, path: &Path) -> String {
    format!("[plugins.{name}]\ntrusted = \"sha256:{}\"\n", sha256(path))
}

/// Builds examples/native-upper (once per test run) and returns the library.
fn native_upper() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let target = root.join("target/native-plugins");
        let status = crate::support::without_host_build_flags(&mut Command::new(env!("CARGO")))
            .current_dir(root)
            .args(["build", "--quiet", "--package", "aish-native-upper", "--target-dir"])
            .arg(&target)
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the native example plugin failed");
        target.join("debug").join(format!(
            "{}aish_native_upper{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ))
    })
}

#[test]
fn native_plugin_is_refused_until_its_content_is_pinned_then_runs() {
    let home = home();
    let run = aish(home.path(), &["plugin", "add", "--name", "upper", native_upper().to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{run:?}");
    // It prints the hash and the exact lines to paste, and trusts nothing by itself.
    let installed = home.path().join("plugins").join(format!("upper.{}", std::env::consts::DLL_EXTENSION));
    let lines = pin("upper", &installed);
    assert!(run.stdout.contains(&format!("(sha256:{})", sha256(native_upper()))), "{}", run.stdout);
    assert!(run.stdout.contains(&lines), "{}", run.stdout);
    assert!(!home.path().join("config.toml").exists(), "plugin add writes no config");
    let list = aish(home.path(), &["plugin", "list"], None).stdout;
    assert!(list.lines().any(|l| l.starts_with("upper ") && l.contains("user (native, untrusted)")), "{list}");

    let run = aish(home.path(), &["-c", "echo hello | upper"], None);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: upper: plugin `upper` is native code, which runs unsandboxed with your rights; aish loads it only when config.toml pins its content with [plugins.upper] trusted = \"sha256:…\" (`aish plugin add` printed the line; `aish plugin info upper` shows the hash)\n"
    );
    let info = aish(home.path(), &["plugin", "info", "upper"], None).stdout;
    assert!(info.contains(&format!("content:       sha256:{}\n", sha256(&installed))), "{info}");

    write_config(home.path(), &lines);
    let run = aish(home.path(), &["-c", "echo hello world | upper 'Shout:'"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "Shout: HELLO WORLD\n"), "{run:?}");
    // Between AIs (the demo ones here, since the config names none).
    let run = aish(home.path(), &["-c", "echo 'Quiet words.' | hermes | upper"], None);
    assert_eq!(run.stdout, "IN ONE LINE: QUIET WORDS.\n", "{run:?}");

    let list = aish(home.path(), &["plugin", "list"], None).stdout;
    assert!(
        list.lines().any(|l| l.starts_with("upper ") && l.contains("0.1.0") && l.contains("upper-cases its input")),
        "{list}"
    );
    let info = aish(home.path(), &["plugin", "info", "upper"], None).stdout;
    assert!(info.contains("native C ABI 1") && info.contains("not sandboxed"), "{info}");
}

#[test]
fn a_library_that_changed_since_it_was_pinned_is_refused_naming_both_hashes() {
    let home = home();
    aish(home.path(), &["plugin", "add", "--name", "upper", native_upper().to_str().unwrap()], None);
    let installed = home.path().join("plugins").join(format!("upper.{}", std::env::consts::DLL_EXTENSION));
    let pinned = sha256(&installed);
    write_config(home.path(), &pin("upper", &installed));
    // Another build lands under the same name: one more byte is enough.
    let mut bytes = std::fs::read(&installed).unwrap();
    bytes.push(0);
    std::fs::write(&installed, bytes).unwrap();
    let actual = sha256(&installed);
    let run = aish(home.path(), &["-c", "echo hello | upper"], None);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "error: upper: plugin `upper` is not the library you trusted: config.toml pins sha256:{pinned}, and {} is sha256:{actual}; it was not loaded (if you trust the new file, write [plugins.upper] trusted = \"sha256:{actual}\")\n",
            installed.display()
        )
    );
    let list = aish(home.path(), &["plugin", "list"], None).stdout;
    assert!(list.lines().any(|l| l.starts_with("upper ") && l.contains("user (native, changed)")), "{list}");
}

#[test]
fn trusted_true_still_loads_for_now_with_a_warning_that_says_what_to_write() {
    let home = home();
    aish(home.path(), &["plugin", "add", "--name", "upper", native_upper().to_str().unwrap()], None);
    let installed = home.path().join("plugins").join(format!("upper.{}", std::env::consts::DLL_EXTENSION));
    write_config(home.path(), "[plugins.upper]\ntrusted = true\n");
    let run = aish(home.path(), &["-c", "echo hello | upper"], None);
    assert_eq!((run.code, run.stdout.as_str()), (0, "HELLO\n"), "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "warning: [plugins.upper] trusted = true is deprecated and stops working in the next release, because it trusts whatever the file becomes; pin this library's content instead: [plugins.upper] trusted = \"sha256:{}\"\n",
            sha256(&installed)
        )
    );
}

#[test]
fn a_malformed_trusted_value_is_a_config_error_naming_the_file_and_key() {
    let home = home();
    for value in ["\"yes\"", "\"sha256:abc\"", "1"] {
        write_config(home.path(), &format!("[plugins.upper]\ntrusted = {value}\n"));
        let run = aish(home.path(), &["-c", "echo hello"], None);
        assert_ne!(run.code, 0, "{value}: {run:?}");
        let config = home.path().join("config.toml");
        assert!(
            run.stderr.contains(&format!("config error in {} at `plugins.upper.trusted`: ", config.display()))
                && run.stderr.contains("sha256:")
                && run.stderr.contains(value),
            "{value}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_panic_in_native_code_is_one_error_line() {
    let home = home();
    aish(home.path(), &["plugin", "add", "--name", "upper", native_upper().to_str().unwrap()], None);
    let installed = home.path().join("plugins").join(format!("upper.{}", std::env::consts::DLL_EXTENSION));
    write_config(home.path(), &pin("upper", &installed));
    let script = home.path().join("s.aish");
    std::fs::write(&script, "echo x | upper --panic\necho after | upper\n").unwrap();
    let run = aish(home.path(), &[script.to_str().unwrap()], None);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "AFTER\n", "aish goes on after the panic");
    let errors: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors, vec!["error: upper: the plugin panicked: asked to panic"]);
    let run = aish(home.path(), &["plugin", "remove", "upper"], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!aish(home.path(), &["plugin", "list"], None).stdout.contains("upper"));
}

#[test]
fn a_library_that_is_not_an_aish_plugin_is_refused() {
    let home = home();
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.so");
    std::fs::write(&fake, b"not a library").unwrap();
    // Refused at once, not once the user has pinned it.
    let run = aish(home.path(), &["plugin", "add", fake.to_str().unwrap()], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("is not a shared library (.so)"), "{}", run.stderr);
    assert!(!run.stdout.contains("trusted ="), "no pin offered: {}", run.stdout);
    // A real library, built for another machine.
    let mut foreign = std::fs::read(native_upper()).unwrap();
    let other: u16 = if std::env::consts::ARCH == "aarch64" { 62 } else { 183 };
    foreign[18..20].copy_from_slice(&other.to_le_bytes());
    let elsewhere = dir.path().join("elsewhere.so");
    std::fs::write(&elsewhere, &foreign).unwrap();
    let run = aish(home.path(), &["plugin", "add", elsewhere.to_str().unwrap()], None);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("a shared library for another machine"), "{}", run.stderr);
    // One put in the plugin folder by hand and pinned fails to load, in one line naming it once.
    let plugins = home.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let placed = plugins.join("fake.so");
    std::fs::copy(&fake, &placed).unwrap();
    write_config(home.path(), &pin("fake", &placed));
    let run = aish(home.path(), &["-c", "echo x | fake"], None);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: fake: native plugin ") && run.stderr.contains("cannot load it"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("fake.so").count(), 1, "the file is named once: {}", run.stderr);
}
