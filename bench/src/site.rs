//! The built site: where cargo-leptos put it, and how large the WASM bundle
//! is raw, gzipped (best level) and brotli'd (quality 11), as a browser
//! downloads it.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::Context as _;

use crate::server::{repo_root, target_dirs};

/// The first existing `site` directory: the repository's `target/site`
/// (where `cargo leptos build` writes it), else `<target dir>/site`.
pub fn find_site_root() -> Option<PathBuf> {
    std::iter::once(repo_root().join("target/site"))
        .chain(target_dirs().into_iter().map(|dir| dir.join("site")))
        .find(|dir| dir.is_dir())
}

/// Sizes in bytes.
#[derive(Debug, Clone, Copy)]
pub struct WasmSize {
    pub raw: u64,
    /// `None` for a development build (not compressed).
    pub gzip: Option<u64>,
    pub brotli: Option<u64>,
    /// DWARF sections present: a development build (`cargo leptos build`
    /// without `--release`), not what production serves.
    pub debug_build: bool,
}

/// The bundle `<site>/pkg/vanguard.wasm` (or `vanguard_bg.wasm`), if built.
pub fn wasm_path(site_root: &Path) -> Option<PathBuf> {
    ["vanguard.wasm", "vanguard_bg.wasm"]
        .into_iter()
        .map(|name| site_root.join("pkg").join(name))
        .find(|path| path.is_file())
}

/// Raw, gzip and brotli sizes; a development build is only weighed raw
/// (compressing megabytes of debug sections at brotli 11 takes long and
/// says nothing about production).
pub fn measure(path: &Path) -> anyhow::Result<WasmSize> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let debug_build = custom_sections(&bytes)
        .iter()
        .any(|name| name.starts_with(".debug"));
    let raw = u64::try_from(bytes.len())?;
    if debug_build {
        return Ok(WasmSize {
            raw,
            gzip: None,
            brotli: None,
            debug_build,
        });
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(&bytes)?;
    let gzip = gzip.finish()?;
    let mut brotli = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut bytes.as_slice(), &mut brotli, &params)
        .context("brotli compression failed")?;
    Ok(WasmSize {
        raw,
        gzip: Some(u64::try_from(gzip.len())?),
        brotli: Some(u64::try_from(brotli.len())?),
        debug_build,
    })
}

/// The names of a WebAssembly module's custom sections (empty when the
/// bytes are not a module).
fn custom_sections(bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    if bytes.get(..4) != Some(b"\0asm".as_slice()) {
        return names;
    }
    let mut at = 8;
    while let Some(&id) = bytes.get(at) {
        let Some((size, after_size)) = leb128(bytes, at + 1) else {
            break;
        };
        let end = after_size.saturating_add(size);
        if id == 0
            && let Some((len, after_len)) = leb128(bytes, after_size)
            && let Some(name) = bytes.get(after_len..after_len.saturating_add(len))
        {
            names.push(String::from_utf8_lossy(name).into_owned());
        }
        at = end;
    }
    names
}

/// An unsigned LEB128 number at `at`: its value and the offset after it.
fn leb128(bytes: &[u8], mut at: usize) -> Option<(usize, usize)> {
    let mut value = 0_usize;
    let mut shift = 0_u32;
    loop {
        let byte = *bytes.get(at)?;
        at += 1;
        value |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_custom_section_names() {
        // Header, a custom section ".debug_line" (payload: name only), a
        // type section of 1 byte, a custom section "name".
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend([0, 12, 11]);
        module.extend(b".debug_line");
        module.extend([1, 1, 0]);
        module.extend([0, 5, 4]);
        module.extend(b"name");
        assert_eq!(custom_sections(&module), vec![".debug_line", "name"]);
        assert!(custom_sections(b"not wasm").is_empty());
    }
}
