//! The eleven-target matrix as `cargo xtask matrix --run` runs it (each server started and
//! stopped by its recipe, `--jobs` side by side), its reports in the scratch folder.

use crate::matrix::jobs;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub enum MatrixTime {
    #[default]
    Unknown,
    NotMeasured(String),
    Measured {
        wall: Duration,
        jobs: usize,
        /// Per target: its name, start + run + stop, and how it ended.
        targets: Vec<(String, Duration, String)>,
    },
}

pub fn measure_matrix(root: &Path, scratch: &Path, jobs: usize) -> MatrixTime {
    let names = match crate::matrix::runnable_targets(root, &["all".to_string()]) {
        Ok(names) if !names.is_empty() => names,
        Ok(_) => return MatrixTime::NotMeasured("not measured: no target is installed".into()),
        Err(e) => return MatrixTime::NotMeasured(format!("not measured: {e:#}")),
    };
    let reports = scratch.join("matrix");
    match jobs::run_targets(root, &names, &reports, jobs) {
        Ok(run) => MatrixTime::Measured {
            wall: run.wall,
            jobs,
            targets: run
                .outcomes
                .iter()
                .map(|o| {
                    let ended = match &o.result {
                        Ok(0) => "as its baseline says".to_string(),
                        Ok(1) => "differs from its baseline".to_string(),
                        Ok(code) => format!("failed (exit {code})"),
                        Err(e) => format!("failed: {e}"),
                    };
                    (o.name.clone(), o.took, ended)
                })
                .collect(),
        },
        Err(e) => MatrixTime::NotMeasured(format!("not measured: {e:#}")),
    }
}
