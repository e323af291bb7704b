//! The parts of a component's bytes that describe it: its manifest section and the names it
//! exports. Also compiled into the build script (`host/build.rs`), which reads them from each
//! built-in plugin once, so that a start of aish does not walk nine components' sections (and
//! fault in the pages they lie on) to learn what the build already knew. Plain `std` and
//! `wasmparser` only, for that reason.

/// The name of the custom section that carries a plugin's manifest.
pub const SECTION: &str = "aish:manifest";

/// What a component's bytes say about it.
#[derive(Debug, PartialEq, Eq)]
pub struct Parts {
    /// The text of the manifest section: the top-level one (written by `plugin add`), else the
    /// core module's (where the Rust SDK's link section lands).
    pub section: Option<String>,
    /// The names of the component's own exports (not those of the modules inside it).
    pub exports: Vec<String>,
}

/// Reads `bytes`' manifest section and exports; why not, when they are not a component (a
/// plain message: the caller wraps it in its own error type, and the build script needs none).
pub fn read(bytes: &[u8]) -> Result<Parts, String> {
    if !wasmparser::Parser::is_component(bytes) {
        let why = if wasmparser::Parser::is_core_wasm(bytes) { "a core module" } else { "not WebAssembly" };
        return Err(why.to_owned());
    }
    let (mut section, mut nested) = (None, None);
    let mut exports = Vec::new();
    let broken = |e: wasmparser::BinaryReaderError| e.message().to_owned();
    // Nested modules and components have exports of their own; only the outer ones count.
    let (mut parser, mut outer) = (wasmparser::Parser::new(0), Vec::new());
    let mut data = bytes;
    loop {
        let payload = match parser.parse(data, true).map_err(broken)? {
            wasmparser::Chunk::Parsed { consumed, payload } => {
                data = &data[consumed..];
                payload
            }
            wasmparser::Chunk::NeedMoreData(_) => return Err("it is cut short".into()),
        };
        match payload {
            wasmparser::Payload::ModuleSection { parser: inner, .. }
            | wasmparser::Payload::ComponentSection { parser: inner, .. } => {
                outer.push(std::mem::replace(&mut parser, inner));
            }
            wasmparser::Payload::End(_) => match outer.pop() {
                Some(up) => parser = up,
                None => break,
            },
            // Function bodies say nothing of the manifest or the exports.
            wasmparser::Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                data = data.get(size as usize..).ok_or("it is cut short")?;
            }
            wasmparser::Payload::CustomSection(custom) if custom.name() == SECTION => {
                let slot = if outer.is_empty() { &mut section } else { &mut nested };
                slot.get_or_insert_with(|| String::from_utf8_lossy(custom.data()).into_owned());
            }
            wasmparser::Payload::ComponentExportSection(reader) if outer.is_empty() => {
                for export in reader {
                    exports.push(export.map_err(broken)?.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(Parts { section: section.or(nested), exports })
}
