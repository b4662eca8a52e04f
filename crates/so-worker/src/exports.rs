//! Writing `customers/data_request` exports: one JSON file per request,
//! written to a temporary name and renamed, so a reader never sees half of
//! one.

use std::path::{Path, PathBuf};

use so_domain::ShopDomain;

/// Writes `export` as `<dir>/<shop>/<request>.json` and returns the path.
pub(crate) fn write(
    dir: &Path,
    shop: &ShopDomain,
    request: &str,
    export: &serde_json::Value,
) -> std::io::Result<PathBuf> {
    let safe: String = request
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let folder = dir.join(shop.as_str());
    std::fs::create_dir_all(&folder)?;
    let path = folder.join(format!("{safe}.json"));
    let tmp = folder.join(format!(".{safe}.json.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(export)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
