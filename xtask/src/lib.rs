//! The code generator: Smithy model + scenario files → generated/. A library so that the
//! criterion benches can call it; `cargo xtask` (main.rs) is everything else.

pub mod codegen;
pub mod scenarios;
pub mod smithy;

use anyhow::{Context, Result};
use std::path::Path;

/// Writes a file through a temporary sibling, so a reader never sees half of it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
