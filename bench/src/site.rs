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
    pub gzip: u64,
    pub brotli: u64,
}

/// The bundle `<site>/pkg/vanguard.wasm` (or `vanguard_bg.wasm`), if built.
pub fn wasm_path(site_root: &Path) -> Option<PathBuf> {
    ["vanguard.wasm", "vanguard_bg.wasm"]
        .into_iter()
        .map(|name| site_root.join("pkg").join(name))
        .find(|path| path.is_file())
}

pub fn measure(path: &Path) -> anyhow::Result<WasmSize> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
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
        raw: u64::try_from(bytes.len())?,
        gzip: u64::try_from(gzip.len())?,
        brotli: u64::try_from(brotli.len())?,
    })
}
