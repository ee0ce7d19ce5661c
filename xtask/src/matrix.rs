//! `cargo xtask matrix`: runs each target (or, with `--from-reports`, reads its last run)
//! and shows targets × features, from reports/<target>/results.json.
//!
//! Reads each target's results.json (and baseline.toml, to say which deviations are
//! known) and writes reports/matrix.md and reports/matrix.html: one row per target, one
//! column per feature (in suites/FEATURES.toml order), each cell the verdict counts of
//! that target's cases with that feature, coloured by the worst weight among them and
//! linking to the list of those cases further down the same page. Nothing volatile goes
//! in, so the same reports give the same bytes.

use anyhow::{bail, Context, Result};
use contract::baseline::{Baseline, Deviation};
use contract::results::{CaseResult, Column, Results};
use contract::vocabulary::Vocabulary;
use contract::{Severity, Verdict};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Targets to include (`all`: the embedded target and every installed server; with
    /// --from-reports, every folder under reports/ with a results.json).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub targets: Vec<String>,
    /// Do not run anything: make the matrix from the reports already in reports/.
    /// Without it each target is run first (its server started and stopped), writing
    /// reports/<target>/.
    #[arg(long)]
    pub from_reports: bool,
}

pub fn run(root: &Path, args: Args) -> Result<()> {
    let reports = root.join("reports");
    let differed = if args.from_reports {
        Vec::new()
    } else {
        run_targets(root, &args.targets)?
    };
    let targets = select_targets(&reports, &args.targets)?;
    let features = feature_order(&root.join("suites/FEATURES.toml"))?;
    let matrix = Matrix::load(&reports, &targets, &features)?;
    for path in matrix.write(&reports)? {
        println!("wrote {}", path.display());
    }
    for t in &matrix.targets {
        println!("{}: {}", t.name, t.verdict_line);
    }
    if !differed.is_empty() {
        bail!("{}", differed.join("; "));
    }
    Ok(())
}

/// Runs each requested target in turn into reports/, one server at a time. A target that
/// cannot run keeps its old reports; the rest still run. Returns what did not match its
/// baseline, for the exit status once the matrix is written.
fn run_targets(root: &Path, requested: &[String]) -> Result<Vec<String>> {
    let names: Vec<String> = if requested.iter().any(|t| t == "all") {
        let (ready, missing): (Vec<&str>, Vec<&str>) = crate::targets::all()
            .into_iter()
            .partition(|t| crate::targets::installed(root, t));
        if !missing.is_empty() {
            eprintln!(
                "not installed, so not run (`cargo xtask endpoint install <name>`): {}",
                missing.join(", ")
            );
        }
        ready.into_iter().map(String::from).collect()
    } else {
        for t in requested {
            if !crate::targets::is_known(t) {
                bail!(
                    "--targets {t:?}: not a target this command can start (known: {}; \
                     --from-reports reads any folder under reports/)",
                    crate::targets::all().join(", ")
                );
            }
        }
        requested.to_vec()
    };
    let reports = root.join("reports");
    let mut differed = Vec::new();
    for name in &names {
        eprintln!("==> {name}");
        match crate::targets::run(root, name, &reports) {
            Ok(0) => {}
            Ok(1) => differed.push(format!(
                "{name} does not match reports/{name}/baseline.toml (see reports/{name}/summary.md)"
            )),
            Ok(code) => differed.push(format!(
                "{name}: the run failed (exit {code}); its reports were left as they were"
            )),
            Err(e) => differed.push(format!("{name}: {e:#}")),
        }
    }
    Ok(differed)
}

/// The targets named by `--targets`, each checked to have a results.json.
pub fn select_targets(reports: &Path, requested: &[String]) -> Result<Vec<String>> {
    if requested.iter().any(|t| t == "all") {
        if requested.len() > 1 {
            bail!("--targets all cannot be combined with target names");
        }
        let mut found = Vec::new();
        let entries = std::fs::read_dir(reports)
            .with_context(|| format!("cannot read {}", reports.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", reports.display()))?;
            if entry.path().join("results.json").is_file() {
                found.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        // The known targets in their usual order (embedded, LocalStack, Ceph RGW, …), then
        // any other by name.
        let known = crate::targets::all();
        found.sort_by_key(|t| {
            (
                known.iter().position(|k| k == t).unwrap_or(usize::MAX),
                t.clone(),
            )
        });
        if found.is_empty() {
            bail!(
                "no reports/<target>/results.json under {}: run `cargo xtask run` first",
                reports.display()
            );
        }
        return Ok(found);
    }
    let mut targets: Vec<String> = Vec::new();
    for t in requested {
        // A name becomes a path under reports/: the runner's rule for target names.
        contract::names::check_target_name(t).map_err(|e| anyhow::anyhow!("--targets {e}"))?;
        if !targets.contains(t) {
            targets.push(t.clone());
        }
    }
    if targets.is_empty() {
        bail!("--targets names no target");
    }
    let missing: Vec<String> = targets
        .iter()
        .filter(|t| !reports.join(t).join("results.json").is_file())
        .map(|t| format!("reports/{t}/results.json"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "no results for {}: run `cargo xtask run --target <name> …` for each first",
            missing.join(", ")
        );
    }
    Ok(targets)
}

/// The features of suites/FEATURES.toml in the order the file lists them.
pub fn feature_order(path: &Path) -> Result<Vec<String>> {
    let vocabulary = Vocabulary::load(path)?;
    Ok(vocabulary.features.names().map(str::to_string).collect())
}

#[derive(Serialize)]
struct Count {
    verdict: &'static str,
    n: usize,
}

/// One case in a cell's list.
#[derive(Serialize)]
struct Entry {
    id: String,
    title: String,
    verdict: &'static str,
    shade: &'static str,
    weight: &'static str,
    expected: String,
    observed: String,
    source: String,
    details: Vec<String>,
    deviation: bool,
    /// The baseline's reason, when it lists this deviation with this verdict.
    known: Option<String>,
    /// Rows of the case whose sources disagree, with their anchors on docs/reference.md.
    contested: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Cell {
    feature: String,
    /// Id of the cell's list on the page; the cell links to it.
    anchor: String,
    /// No case of the target has this feature.
    empty: bool,
    shade: &'static str,
    mark: &'static str,
    /// `5 pass · 2 wrong-code`.
    text: String,
    counts: Vec<Count>,
    cases: usize,
    /// The cases that are not plain passes (deviations, tolerated outcomes, skips).
    entries: Vec<Entry>,
}

#[derive(Serialize)]
struct TargetRow {
    name: String,
    profile: String,
    verdict_line: String,
    shade: &'static str,
    mark: &'static str,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct Legend {
    shade: &'static str,
    mark: &'static str,
    meaning: &'static str,
}

#[derive(Serialize)]
pub struct Matrix {
    features: Vec<String>,
    /// Features of FEATURES.toml that no case of these targets has yet.
    uncovered: Vec<String>,
    targets: Vec<TargetRow>,
    legend: Vec<Legend>,
}

impl Matrix {
    /// Reads the targets' reports; `vocabulary` gives the column order.
    pub fn load(reports: &Path, targets: &[String], vocabulary: &[String]) -> Result<Matrix> {
        let mut loaded = Vec::new();
        for name in targets {
            let path = reports.join(name).join("results.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let results: Results = serde_json::from_str(&text)
                .with_context(|| format!("malformed {}", path.display()))?;
            let baseline = Baseline::load(&reports.join(name).join("baseline.toml"))?.deviations;
            loaded.push((name.clone(), results, baseline));
        }
        Ok(Matrix::build(&loaded, vocabulary))
    }

    fn build(loaded: &[(String, Results, Vec<Deviation>)], vocabulary: &[String]) -> Matrix {
        let seen: std::collections::BTreeSet<&String> = loaded
            .iter()
            .flat_map(|(_, r, _)| r.cases.iter().flat_map(|c| &c.features))
            .collect();
        // FEATURES.toml order, then any word a (stale) report has that the file lacks.
        let mut features: Vec<String> = vocabulary
            .iter()
            .filter(|f| seen.contains(f))
            .cloned()
            .collect();
        features.extend(
            seen.iter()
                .filter(|f| !vocabulary.contains(f))
                .map(|f| f.to_string()),
        );
        let uncovered = vocabulary
            .iter()
            .filter(|f| !seen.contains(f))
            .cloned()
            .collect();
        let all: Vec<&CaseResult> = loaded.iter().flat_map(|(_, r, _)| &r.cases).collect();
        let columns = Column::all(features.iter().map(String::as_str), &all);
        let targets = loaded
            .iter()
            .map(|(name, results, baseline)| target_row(name, results, baseline, &columns))
            .collect();
        let legend = Severity::ALL
            .iter()
            .map(|s| Legend {
                shade: s.name(),
                mark: s.mark(),
                meaning: s.meaning(),
            })
            .collect();
        Matrix {
            features: columns.iter().map(Column::label).collect(),
            uncovered,
            targets,
            legend,
        }
    }

    pub fn render_markdown(&self) -> Result<String> {
        self.render("matrix.md", include_str!("../templates/matrix.md.tera"))
    }

    pub fn render_html(&self) -> Result<String> {
        // Tera escapes templates whose name ends in .html: ids and details are text.
        self.render("matrix.html", include_str!("../templates/matrix.html.tera"))
    }

    fn render(&self, name: &str, template: &str) -> Result<String> {
        let mut tera = tera::Tera::default();
        // Tera's own escaper also writes `/` as `&#x2F;`: correct, but the case ids are
        // paths and the page source should stay readable.
        tera.set_escape_fn(escape_html);
        tera.add_raw_template(name, template)
            .with_context(|| format!("template {name}"))?;
        let context = tera::Context::from_serialize(self)?;
        tera.render(name, &context)
            .with_context(|| format!("cannot render {name}"))
    }

    /// Writes matrix.md and matrix.html into `dir` (links assume it is reports/).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let md = dir.join("matrix.md");
        let html = dir.join("matrix.html");
        contract::files::write_atomically(&md, self.render_markdown()?.as_bytes())?;
        contract::files::write_atomically(&html, self.render_html()?.as_bytes())?;
        Ok(vec![md, html])
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

fn target_row(
    name: &str,
    results: &Results,
    baseline: &[Deviation],
    columns: &[Column],
) -> TargetRow {
    let cells = columns
        .iter()
        .map(|column| {
            let cases: Vec<&CaseResult> =
                results.cases.iter().filter(|c| column.holds(c)).collect();
            cell(name, column, &cases, baseline)
        })
        .collect();
    let all: Vec<&CaseResult> = results.cases.iter().collect();
    let shade = worst(&all);
    TargetRow {
        name: name.to_string(),
        profile: results.profile.name().to_string(),
        verdict_line: results.verdict_line(),
        shade: shade.map_or("empty", Severity::name),
        mark: shade.map_or("", Severity::mark),
        cells,
    }
}

fn cell(target: &str, column: &Column, cases: &[&CaseResult], baseline: &[Deviation]) -> Cell {
    let counts = counts(cases);
    let shade = worst(cases);
    let entries = cases
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| Entry {
            id: c.id.clone(),
            title: c.title.clone(),
            verdict: c.verdict.name(),
            shade: c.verdict.severity().name(),
            weight: c.verdict.weight(),
            expected: c.expected_text(),
            observed: c.observed_text(),
            source: c.source.clone(),
            details: c.details.clone(),
            deviation: c.verdict.is_deviation(),
            contested: c
                .contested
                .iter()
                .map(|r| (r.clone(), contract::names::reference_anchor(r)))
                .collect(),
            known: baseline
                .iter()
                .find(|d| d.case == c.id && d.verdict == c.verdict)
                .map(|d| d.reason.clone()),
        })
        .collect();
    Cell {
        feature: column.label(),
        anchor: match &column.operation {
            Some(op) => format!("{target}--{}--{op}", column.feature),
            None => format!("{target}--{}", column.feature),
        },
        empty: cases.is_empty(),
        shade: shade.map_or("empty", Severity::name),
        mark: shade.map_or("", Severity::mark),
        text: counts
            .iter()
            .map(|c| format!("{} {}", c.n, c.verdict))
            .collect::<Vec<_>>()
            .join(" · "),
        counts,
        cases: cases.len(),
        entries,
    }
}

/// Non-zero counts, in the order of `Verdict::ALL` (best to worst as the design lists them).
fn counts(cases: &[&CaseResult]) -> Vec<Count> {
    Verdict::ALL
        .iter()
        .map(|v| Count {
            verdict: v.name(),
            n: cases.iter().filter(|c| c.verdict == *v).count(),
        })
        .filter(|c| c.n > 0)
        .collect()
}

fn worst(cases: &[&CaseResult]) -> Option<Severity> {
    cases.iter().map(|c| c.verdict.severity()).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::results::Observed;
    use std::time::{Duration, Instant};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .into()
    }

    fn case(id: &str, features: &[&str], verdict: Verdict) -> CaseResult {
        CaseResult {
            title: format!("title <of> {id}"),
            features: features.iter().map(|f| f.to_string()).collect(),
            observed: Some(Observed {
                status: 200,
                code: None,
                message: None,
            }),
            ..contract::results::sample::case(id, verdict)
        }
    }

    fn results(target: &str, cases: Vec<CaseResult>) -> Results {
        contract::results::sample::results(target, cases)
    }

    fn write_results(reports: &Path, r: &Results) {
        let dir = reports.join(&r.target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("results.json"),
            serde_json::to_string_pretty(r).unwrap(),
        )
        .unwrap();
    }

    fn vocabulary() -> Vec<String> {
        feature_order(&root().join("suites/FEATURES.toml")).unwrap()
    }

    #[test]
    fn features_keep_the_order_of_features_toml() {
        let features = vocabulary();
        assert_eq!(features[..3], ["range", "part-number", "upload-id"]);
    }

    #[test]
    fn a_cell_takes_the_colour_of_its_worst_verdict() {
        let r = results(
            "t",
            vec![
                case("a/1", &["range"], Verdict::Pass),
                case("a/2", &["range"], Verdict::WrongCode),
                case("a/3", &["range", "preconditions"], Verdict::SilentAccept),
                case("b/1", &["part-number"], Verdict::PassAlternative),
                case("c/1", &["upload-id"], Verdict::Skipped),
                case("d/1", &["copy-source"], Verdict::NotImplemented),
                case("d/2", &["copy-source"], Verdict::Pass),
                case("e/1", &["lifecycle"], Verdict::ServerError),
                case("e/2", &["lifecycle"], Verdict::WrongStatus),
                case("f/1", &["error-codes"], Verdict::HarnessError),
                case("f/2", &["error-codes"], Verdict::WrongCode),
            ],
        );
        let baseline = vec![Deviation {
            case: "a/2".into(),
            verdict: Verdict::WrongCode,
            reason: "known reason".into(),
            link: None,
        }];
        let m = Matrix::build(&[("t".into(), r, baseline)], &vocabulary());
        let shade = |f: &str| {
            m.targets[0]
                .cells
                .iter()
                .find(|c| c.feature == f)
                .unwrap()
                .shade
        };
        assert_eq!(shade("range"), "critical");
        assert_eq!(shade("preconditions"), "critical");
        assert_eq!(shade("part-number"), "pass");
        assert_eq!(shade("upload-id"), "skipped");
        assert_eq!(shade("copy-source"), "not-implemented");
        assert_eq!(shade("lifecycle"), "major");
        assert_eq!(shade("error-codes"), "harness-error");
        assert_eq!(m.targets[0].shade, "critical");
        assert!(m.uncovered.contains(&"versioning".to_string()));

        let range = &m.targets[0].cells[0];
        assert_eq!(range.text, "1 pass · 1 wrong-code · 1 silent-accept");
        assert_eq!(range.anchor, "t--range");
        let known: Vec<_> = range.entries.iter().map(|e| e.known.is_some()).collect();
        assert_eq!(known, [true, false]);

        // Every cell's link has its target on both pages; text is escaped in HTML.
        let md = m.render_markdown().unwrap();
        let html = m.render_html().unwrap();
        for cell in &m.targets[0].cells {
            let a = &cell.anchor;
            assert!(md.contains(&format!("](#{a})")), "{a}\n{md}");
            assert!(md.contains(&format!("<a id=\"{a}\"></a>")), "{a}\n{md}");
            assert!(html.contains(&format!("href=\"#{a}\"")), "{a}");
            assert!(html.contains(&format!("id=\"{a}\"")), "{a}");
        }
        assert!(html.contains("title &lt;of&gt; a/3"));
        assert!(!html.contains("title <of>"));
    }

    #[test]
    fn the_matrix_of_the_committed_reports_is_deterministic() {
        let reports = root().join("reports");
        let targets = select_targets(&reports, &["all".into()]).unwrap();
        assert!(targets.contains(&"embedded".to_string()));
        let first = Matrix::load(&reports, &targets, &vocabulary()).unwrap();
        let second = Matrix::load(&reports, &targets, &vocabulary()).unwrap();
        assert_eq!(
            first.render_markdown().unwrap(),
            second.render_markdown().unwrap()
        );
        assert_eq!(first.render_html().unwrap(), second.render_html().unwrap());
        let md = first.render_markdown().unwrap();
        assert!(md.contains("embedded/summary.md"), "{md}");
    }

    #[test]
    fn a_target_without_results_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        write_results(dir.path(), &results("one", vec![]));
        let err = select_targets(dir.path(), &["one".into(), "two".into()]).unwrap_err();
        assert!(
            err.to_string().contains("reports/two/results.json"),
            "{err}"
        );
        assert!(select_targets(dir.path(), &["../x".into()]).is_err());
        assert!(select_targets(dir.path(), &["all".into(), "one".into()]).is_err());
        assert_eq!(
            select_targets(dir.path(), &["all".into()]).unwrap(),
            ["one"]
        );
        let empty = tempfile::tempdir().unwrap();
        let err = select_targets(empty.path(), &["all".into()]).unwrap_err();
        assert!(err.to_string().contains("cargo xtask run"), "{err}");
        // Through the command itself: a non-zero exit comes from this error.
        let err = run(
            empty.path(),
            Args {
                targets: vec!["nope".into()],
                from_reports: true,
            },
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("reports/nope/results.json"),
            "{err:#}"
        );
        // Asked to run a target nobody can start: refused before anything runs.
        let err = run(
            empty.path(),
            Args {
                targets: vec!["minio".into()],
                from_reports: false,
            },
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("known: embedded, localstack"),
            "{err:#}"
        );
    }

    /// Runs a command with its stdout in a file, killed after `limit`.
    fn run_bounded(cmd: &mut std::process::Command, stdout: &Path, limit: Duration) -> bool {
        let out = std::fs::File::create(stdout).unwrap();
        let mut child = cmd
            .stdout(out)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromium starts");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium took longer than {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn chromium(profile: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new("/usr/bin/chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
        cmd
    }

    #[test]
    fn the_html_matrix_renders_in_headless_chromium() {
        if !Path::new("/usr/bin/chromium").exists() {
            eprintln!("skipped: /usr/bin/chromium is absent (apt-get install chromium)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let reports = root().join("reports");
        let targets = select_targets(&reports, &["all".into()]).unwrap();
        let matrix = Matrix::load(&reports, &targets, &vocabulary()).unwrap();
        matrix.write(dir.path()).unwrap();
        let page = format!("file://{}", dir.path().join("matrix.html").display());

        let png = dir.path().join("m.png");
        let ok = run_bounded(
            chromium(&dir.path().join("profile-shot"))
                .arg(format!("--screenshot={}", png.display()))
                .arg("--window-size=1200,800")
                .arg(&page),
            &dir.path().join("shot.out"),
            Duration::from_secs(90),
        );
        assert!(ok, "chromium --screenshot failed");
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&png).expect("a screenshot was written"),
        ));
        let mut reader = decoder.read_info().expect("a valid PNG");
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((frame.width, frame.height), (1200, 800));
        // Not a blank page: many colours, and a fair share of pixels off the background.
        let bytes = frame.color_type.samples();
        let pixels = &pixels[..frame.buffer_size()];
        let colours: std::collections::BTreeSet<&[u8]> = pixels.chunks(bytes).collect();
        assert!(colours.len() > 50, "only {} colours", colours.len());
        let background = &pixels[..bytes];
        let inked = pixels.chunks(bytes).filter(|p| *p != background).count();
        assert!(
            inked * 20 > pixels.len() / bytes,
            "only {inked} pixels differ from the background"
        );

        let dom = dir.path().join("dom.html");
        let ok = run_bounded(
            chromium(&dir.path().join("profile-dom"))
                .arg("--dump-dom")
                .arg(&page),
            &dom,
            Duration::from_secs(90),
        );
        assert!(ok, "chromium --dump-dom failed");
        let dom = std::fs::read_to_string(&dom).unwrap();
        assert!(dom.contains("<table class=\"matrix\""), "{dom}");
        for t in &targets {
            assert!(dom.contains(&format!("id=\"{t}--range\"")), "{dom}");
        }
    }
}
