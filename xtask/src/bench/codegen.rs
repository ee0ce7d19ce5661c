//! How long codegen takes: the built xtask binary running `codegen --check`, and
//! `codegen::render` and the case expansion in this process.

use super::measure::measure;
use super::runs::SHORT_RUN_LIMIT;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct Codegen {
    /// Wall time of the built xtask binary running `codegen --check`, per repetition.
    pub binary: Vec<Duration>,
    pub binary_exit: Option<i32>,
    /// `codegen::render` in this process, per repetition.
    pub render: Vec<Duration>,
    /// Loading models/s3.json and expanding suites/cases (a part of render).
    pub expand: Vec<Duration>,
    pub cases_json_bytes: usize,
    /// Generated Rust files: render runs one rustfmt for each.
    pub rust_files: usize,
}

/// This very xtask binary. Through /proc/self/exe, which still works when a concurrent build
/// has replaced target/debug/xtask while the benchmark runs.
fn xtask_exe() -> Result<PathBuf> {
    let proc_exe = Path::new("/proc/self/exe");
    if proc_exe.exists() {
        return Ok(proc_exe.to_path_buf());
    }
    std::env::current_exe().context("cannot find the xtask binary")
}

pub fn measure_codegen(root: &Path, repeat: u32) -> Result<Codegen> {
    let xtask = xtask_exe()?;
    let mut codegen = Codegen::default();
    // `--check` renders and compares without writing, so generated/ is never touched.
    for _ in 0..=repeat {
        let mut cmd = Command::new(&xtask);
        cmd.args(["codegen", "--check"])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let (m, _) = measure(&mut cmd, SHORT_RUN_LIMIT)?;
        codegen.binary.push(m.wall);
        codegen.binary_exit = m.code;
    }
    // The first run warms the page cache; it is not counted.
    codegen.binary.remove(0);
    for _ in 0..repeat {
        let t = Instant::now();
        let files = codegen::render(root)?;
        codegen.render.push(t.elapsed());
        codegen.cases_json_bytes = files
            .get(Path::new("generated/cases.json"))
            .map_or(0, String::len);
        codegen.rust_files = files
            .keys()
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .count();
        let t = Instant::now();
        let model = codegen::smithy::Model::load(&root.join("models/s3.json"))?;
        codegen::scenarios::expand(&root.join("suites"), &model)?;
        codegen.expand.push(t.elapsed());
    }
    Ok(codegen)
}
