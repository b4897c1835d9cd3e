//! The WASM bundle's section: its size, compressed as it is served.

use std::path::Path;

use crate::{
    WASM_BROTLI_MAX_KB,
    report::{Figure, Section, Status},
    server, site,
    stats::kilobytes,
};

/// The WASM bundle's size, when the site is built.
pub(crate) fn build_section(site_root: Option<&Path>) -> anyhow::Result<Section> {
    let mut section = Section {
        title: "Build".into(),
        ..Section::default()
    };
    let budget = format!("≤ {WASM_BROTLI_MAX_KB:.0} KB");
    match site_root.and_then(site::wasm_path) {
        Some(path) => {
            eprintln!("bench: compressing {}", path.display());
            let size = site::measure(&path)?;
            let kb = |bytes: Option<u64>| {
                bytes.map_or_else(
                    || "not measured".to_owned(),
                    |b| format!("{:.0} KB", kilobytes(b)),
                )
            };
            let brotli_status = match size.brotli {
                Some(brotli) if !size.debug_build => {
                    Status::of(kilobytes(brotli) <= WASM_BROTLI_MAX_KB)
                }
                _ => Status::Skipped,
            };
            section.figures.extend([
                Figure::info("WASM bundle, raw", format!("{:.0} KB", kilobytes(size.raw))),
                Figure::info("WASM bundle, gzip -9", kb(size.gzip)),
                Figure::new(
                    "WASM bundle, brotli q11",
                    kb(size.brotli),
                    budget,
                    brotli_status,
                ),
            ]);
            section
                .notes
                .push(format!("Measured file: `{}`.", shown(&path)));
            if size.debug_build {
                section.notes.push(
                    "This bundle has DWARF debug sections: it is a development build (`cargo \
                     leptos build` or `watch`), not what production serves, so the budget is not \
                     applied. Measure after `cargo leptos build --release`."
                        .into(),
                );
            }
        }
        None => {
            section.figures.push(Figure::new(
                "WASM bundle, brotli q11",
                "not built",
                budget,
                Status::Skipped,
            ));
            section.notes.push(
                "No `target/site/pkg/vanguard.wasm`: the site was not built (`cargo leptos build \
                 --release`, or `bash scripts/test.sh`), so the bundle was not measured."
                    .into(),
            );
        }
    }
    Ok(section)
}

/// A path relative to the repository when it is inside it.
fn shown(path: &Path) -> String {
    path.strip_prefix(server::repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}
