//! `cargo xtask matrix`: shows targets × features from reports/<target>/results.json (with
//! `--run`, each target is run first, `--jobs` of them side by side).
//!
//! Reads each target's results.json (and baseline.toml, to say which deviations are
//! known) and writes reports/matrix.md and reports/matrix.html. Each target gets a score:
//! the share of the cases that ran which behave as AWS does (pass or a tolerated
//! alternative), beside its share of critical deviations; skipped cases are left out of
//! the share and counted apart, so a target is not marked down for what was not asked of
//! it. A feature the target does not implement at all (see `gaps`) is shown as "not
//! implemented", its cases counted apart from the critical deviations of the features it
//! does implement. Targets are ordered by score. One column per feature (in
//! suites/FEATURES.toml order, split by operation where a behaviour is shared), each cell
//! the share of that feature's cases, linking to the list of those cases further down the
//! same page. Each target's results are compared with the version committed in git (HEAD)
//! to list new deviations and fixed ones. Nothing volatile goes in, so the same reports
//! and the same HEAD give the same bytes.

mod history;
pub(crate) mod jobs;
mod score;

use anyhow::{bail, Context, Result};
use contract::baseline::{Baseline, Deviation};
use contract::results::{CaseResult, Column, Results};
use contract::vocabulary::Vocabulary;
use contract::{Severity, Verdict};
use history::{Change, Previous};
pub use score::*;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Targets to include (`all`: every folder under reports/ with a results.json; with
    /// --run, the embedded target and every installed server).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub targets: Vec<String>,
    /// Run each target first (its server started and stopped), writing
    /// reports/<target>/. Without it the matrix is drawn from the reports already there.
    #[arg(long)]
    pub run: bool,
    /// The old name of the default (reading reports/); kept so scripts still work.
    #[arg(long, hide = true, conflicts_with = "run")]
    pub from_reports: bool,
    /// How many targets run side by side (each its own server on its own ports).
    #[arg(long, default_value_t = jobs::default_jobs(),
          value_parser = clap::value_parser!(u16).range(1..=16))]
    pub jobs: u16,
}

pub fn run(root: &Path, args: Args) -> Result<()> {
    let reports = root.join("reports");
    let differed = if !args.run {
        Vec::new()
    } else {
        let names = runnable_targets(root, &args.targets)?;
        let run = jobs::run_targets(root, &names, &reports, args.jobs.into())?;
        eprintln!(
            "ran {} targets, {} side by side, in {}",
            run.outcomes.len(),
            args.jobs,
            jobs::minutes(run.wall)
        );
        for o in &run.outcomes {
            eprintln!("  {}: {}", o.name, jobs::minutes(o.took));
        }
        run.outcomes
            .iter()
            .filter_map(jobs::Outcome::problem)
            .collect()
    };
    let targets = select_targets(&reports, &args.targets)?;
    let features = feature_order(&root.join("suites/FEATURES.toml"))?;
    let matrix = Matrix::load(&reports, &targets, &features)?;
    for path in matrix.write(&reports)? {
        println!("wrote {}", path.display());
    }
    for t in &matrix.targets {
        println!(
            "{}. {}: {}; since the previous report: {}",
            t.rank, t.name, t.headline, t.change.summary
        );
    }
    if !differed.is_empty() {
        bail!("{}", differed.join("; "));
    }
    Ok(())
}

/// The targets `--targets` names that this command can start: `all` is every installed
/// one (saying which are not installed). An unknown name is refused before anything runs.
pub(crate) fn runnable_targets(root: &Path, requested: &[String]) -> Result<Vec<String>> {
    if requested.iter().any(|t| t == "all") {
        let (ready, missing): (Vec<&str>, Vec<&str>) = crate::targets::all()
            .into_iter()
            .partition(|t| crate::targets::installed(root, t));
        if !missing.is_empty() {
            eprintln!(
                "not installed, so not run (`cargo xtask endpoint install <name>`): {}",
                missing.join(", ")
            );
        }
        return Ok(ready.into_iter().map(String::from).collect());
    }
    for t in requested {
        if !crate::targets::is_known(t) {
            bail!(
                "--targets {t:?}: not a target this command can start (known: {}; \
                 without --run the matrix reads any folder under reports/)",
                crate::targets::all().join(", ")
            );
        }
    }
    Ok(requested.to_vec())
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
    /// The target does not implement this feature at all (see `gaps`).
    gap: bool,
    /// `92 %` of the cases that ran behave as AWS does, or `not run`.
    share: String,
    /// CSS class of the share (see BANDS).
    band: &'static str,
    /// The worst verdict's severity.
    shade: &'static str,
    mark: &'static str,
    tally: Tally,
    /// `localstack · range: 92 % behave as AWS does (…): 5 pass · 2 wrong-code`.
    title: String,
    /// `5 pass · 2 wrong-code`.
    text: String,
    counts: Vec<Count>,
    cases: usize,
    /// The cases that are not plain passes (deviations, tolerated outcomes, skips).
    entries: Vec<Entry>,
}

/// One part of a target's bar in the chart.
#[derive(Serialize)]
struct Segment {
    /// CSS class (a severity name).
    class: &'static str,
    n: usize,
    what: &'static str,
    /// Position and width in the SVG's units.
    x: String,
    width: String,
}

#[derive(Serialize)]
struct TargetRow {
    rank: usize,
    name: String,
    profile: String,
    tally: Tally,
    /// `89.5 %`, or `no case ran`.
    score: String,
    /// `3.2 %` of the cases that ran are critical deviations (of implemented features).
    critical_share: String,
    /// The score, the critical deviations and what did not run, in one line.
    headline: String,
    /// The run's own verdict line (as summary.md has it; says when it was interrupted).
    verdict_line: String,
    interrupted: bool,
    /// The score as a bar of 20 characters, for Markdown.
    text_bar: String,
    segments: Vec<Segment>,
    /// Features the target does not implement at all (see `gaps`).
    gaps: Vec<String>,
    /// Rows of the chart: the bar's and the label's y.
    bar_y: usize,
    text_y: usize,
    cells: Vec<Cell>,
    change: Change,
    /// Per client flow of `Matrix::client_flows`: works, fails at a step, not run.
    clients: Vec<String>,
}

#[derive(Serialize)]
struct Legend {
    class: &'static str,
    mark: &'static str,
    meaning: &'static str,
}

#[derive(Serialize)]
struct Chart {
    width: usize,
    height: usize,
    /// Where bars start, and their full width (all the cases that ran).
    bar_x: usize,
    bar_width: usize,
    /// Where the score is written, after the bar.
    score_x: usize,
    legend: Vec<Legend>,
}

#[derive(Serialize)]
pub struct Matrix {
    features: Vec<String>,
    /// Features of FEATURES.toml that no case of these targets has yet.
    uncovered: Vec<String>,
    /// Best score first.
    targets: Vec<TargetRow>,
    legend: Vec<Legend>,
    bands: Vec<Legend>,
    chart: Chart,
    /// The client flows (`cargo xtask clients`), when any target has their results.
    client_flows: Vec<String>,
}

/// One target as read: its name, results, baseline and its last committed results.
pub struct Loaded {
    pub name: String,
    pub results: Results,
    pub baseline: Vec<Deviation>,
    pub previous: Previous,
}

const ROW_HEIGHT: usize = 24;
const BAR_X: usize = 110;
const BAR_WIDTH: usize = 480;

/// The chart's parts, in the order they are drawn, and what each counts.
const PARTS: [(Class, &str, &str); 5] = [
    (Class::Behaves, "pass", "behave as AWS does"),
    (Class::Minor, "minor", "minor deviations"),
    (Class::Major, "major", "major deviations"),
    (Class::Critical, "critical", "critical deviations"),
    (Class::NotImplemented, "not-implemented", "not implemented"),
];

impl Matrix {
    /// Reads the targets' reports and their committed versions; `vocabulary` gives the
    /// column order.
    pub fn load(reports: &Path, targets: &[String], vocabulary: &[String]) -> Result<Matrix> {
        let mut loaded = Vec::new();
        for name in targets {
            let results = Results::load(&reports.join(name).join("results.json"))?;
            let baseline = Baseline::load(&reports.join(name).join("baseline.toml"))?.deviations;
            let previous = history::committed(reports, name);
            loaded.push(Loaded {
                name: name.clone(),
                results,
                baseline,
                previous,
            });
        }
        let mut matrix = Matrix::build(&loaded, vocabulary);
        matrix.add_clients(reports);
        Ok(matrix)
    }

    /// The "clients" columns: each target's outcome per flow, from its clients.json.
    fn add_clients(&mut self, reports: &Path) {
        let flows: Vec<String> = crate::clients::FLOWS
            .iter()
            .map(|f| f.id.to_string())
            .collect();
        for t in &mut self.targets {
            let cells: BTreeMap<String, String> = crate::clients::matrix_cells(reports, &t.name)
                .into_iter()
                .collect();
            if !cells.is_empty() {
                t.clients = flows
                    .iter()
                    .map(|f| cells.get(f).cloned().unwrap_or_else(|| "not run".into()))
                    .collect();
            }
        }
        if self.targets.iter().any(|t| !t.clients.is_empty()) {
            self.client_flows = flows;
        }
    }

    pub fn build(loaded: &[Loaded], vocabulary: &[String]) -> Matrix {
        let seen: std::collections::BTreeSet<&String> = loaded
            .iter()
            .flat_map(|l| l.results.cases.iter().flat_map(|c| &c.features))
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
        let all: Vec<&CaseResult> = loaded.iter().flat_map(|l| &l.results.cases).collect();
        let columns = Column::all(features.iter().map(String::as_str), &all);
        let mut order: Vec<&Loaded> = loaded.iter().collect();
        let tally = |l: &Loaded| Tally::of_target(&l.results.cases);
        order.sort_by(|a, b| tally(a).better(&tally(b)).then_with(|| a.name.cmp(&b.name)));
        let targets = order
            .iter()
            .enumerate()
            .map(|(i, l)| target_row(i, l, &columns))
            .collect();
        let legend = Severity::ALL
            .iter()
            .map(|s| Legend {
                class: s.name(),
                mark: s.mark(),
                meaning: s.meaning(),
            })
            .collect();
        let bands = BANDS
            .iter()
            .map(|(class, _, meaning)| Legend {
                class,
                mark: "",
                meaning,
            })
            .chain(std::iter::once(Legend {
                class: "share-none",
                mark: "",
                meaning: "no case ran",
            }))
            .collect();
        let chart = Chart {
            width: BAR_X + BAR_WIDTH + 70,
            height: loaded.len() * ROW_HEIGHT + 4,
            bar_x: BAR_X,
            bar_width: BAR_WIDTH,
            score_x: BAR_X + BAR_WIDTH + 8,
            legend: PARTS
                .iter()
                .map(|(_, class, what)| Legend {
                    class,
                    mark: "",
                    meaning: what,
                })
                .collect(),
        };
        Matrix {
            features: columns.iter().map(Column::label).collect(),
            uncovered,
            targets,
            legend,
            bands,
            chart,
            client_flows: Vec::new(),
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

fn target_row(index: usize, loaded: &Loaded, columns: &[Column]) -> TargetRow {
    let Loaded {
        name,
        results,
        baseline,
        previous,
    } = loaded;
    let gaps = gaps(&results.cases);
    let cells = columns
        .iter()
        .map(|column| {
            let cases: Vec<&CaseResult> =
                results.cases.iter().filter(|c| column.holds(c)).collect();
            cell(name, column, &cases, baseline, &gaps)
        })
        .collect();
    let tally = Tally::of(&results.cases, &gaps);
    let interrupted = results.run_info.interrupted;
    let mut headline = tally.headline();
    if interrupted {
        headline = format!("INTERRUPTED, partial run: {headline}");
    }
    let bar_y = index * ROW_HEIGHT + 5;
    TargetRow {
        rank: index + 1,
        name: name.clone(),
        profile: results.profile.name().to_string(),
        tally,
        score: tally.score().unwrap_or_else(|| "no case ran".into()),
        critical_share: tally.critical_share().unwrap_or_else(|| "—".into()),
        headline,
        verdict_line: results.verdict_line(),
        interrupted,
        text_bar: text_bar(&tally),
        segments: segments(&results.cases, &tally, &gaps),
        gaps: gaps.into_iter().collect(),
        bar_y,
        text_y: bar_y + 12,
        cells,
        change: history::change(previous, results),
        clients: Vec::new(),
    }
}

/// `█████████████████░░░`: the score in 20 characters, rounded down.
fn text_bar(t: &Tally) -> String {
    let full = (t.behaves * 20).checked_div(t.ran).unwrap_or(0);
    format!("{}{}", "█".repeat(full), "░".repeat(20 - full))
}

/// The target's bar: the cases that ran, by severity, each part as wide as its share.
fn segments(cases: &[CaseResult], tally: &Tally, gaps: &BTreeSet<String>) -> Vec<Segment> {
    let ran = tally.ran;
    let mut x = 0.0;
    let mut out = Vec::new();
    for (part, class_name, what) in PARTS {
        let n = cases.iter().filter(|c| class(c, gaps) == part).count();
        if n == 0 {
            continue;
        }
        let width = (n * BAR_WIDTH) as f64 / ran as f64;
        out.push(Segment {
            class: class_name,
            n,
            what,
            x: format!("{:.1}", BAR_X as f64 + x),
            width: format!("{width:.1}"),
        });
        x += width;
    }
    out
}

fn cell(
    target: &str,
    column: &Column,
    cases: &[&CaseResult],
    baseline: &[Deviation],
    gaps: &BTreeSet<String>,
) -> Cell {
    let counts = counts(cases);
    let shade = worst(cases, gaps);
    let tally = Tally::of(cases.iter().copied(), gaps);
    let gap = gaps.contains(&column.feature);
    let entries = cases
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| Entry {
            id: c.id.clone(),
            title: c.title.clone(),
            verdict: c.verdict.name(),
            shade: shown(c, gaps).name(),
            weight: match class(c, gaps) {
                Class::NotImplemented => "not implemented",
                _ => c.verdict.weight(),
            },
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
    let text = counts
        .iter()
        .map(|c| format!("{} {}", c.n, c.verdict))
        .collect::<Vec<_>>()
        .join(" · ");
    let share = if tally.ran == 0 {
        "not run".to_string()
    } else {
        whole_percent(tally.behaves, tally.ran)
    };
    let mut title = format!("{target} · {}: ", column.label());
    if gap {
        title.push_str("not implemented (it refuses none of the requests AWS refuses); ");
    }
    if tally.ran > 0 {
        title.push_str(&format!(
            "{share} behave as AWS does ({} of {} that ran",
            tally.behaves, tally.ran
        ));
        if tally.not_run > 0 {
            title.push_str(&format!("; not run: {}", tally.not_run));
        }
        title.push_str("): ");
    }
    title.push_str(&text);
    Cell {
        feature: column.label(),
        anchor: match &column.operation {
            Some(op) => format!("{target}--{}--{op}", column.feature),
            None => format!("{target}--{}", column.feature),
        },
        empty: cases.is_empty(),
        gap,
        share,
        band: band(&tally),
        shade: shade.map_or("empty", Severity::name),
        mark: shade.map_or("", Severity::mark),
        tally,
        title,
        text,
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

fn worst(cases: &[&CaseResult], gaps: &BTreeSet<String>) -> Option<Severity> {
    cases.iter().map(|c| shown(c, gaps)).min()
}

/// The colour a case is shown in: its verdict's, grey where it is counted not implemented.
fn shown(case: &CaseResult, gaps: &BTreeSet<String>) -> Severity {
    match class(case, gaps) {
        Class::NotImplemented => Severity::NotImplemented,
        _ => case.verdict.severity(),
    }
}

/// Debian's `chromium`, which checks the HTML matrix in the tests: on PATH, or where the
/// package puts it.
pub fn chromium() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let p = PathBuf::from("/usr/bin/chromium");
        p.is_file().then_some(p)
    })
}

/// For `cargo xtask test`: installs Debian's `chromium` when it is missing (as root, with
/// apt-get). Where that cannot be done it says why; the HTML test then fails under CI.
pub fn ensure_chromium() {
    if chromium().is_some() {
        return;
    }
    eprintln!("==> installing Debian's chromium (the HTML matrix is checked in it)");
    let apt = |args: &[&str]| {
        std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let installed = apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "chromium"]);
    if !installed || chromium().is_none() {
        eprintln!(
            "chromium could not be installed (apt-get install chromium, as root): the HTML \
             matrix test fails where CI is set, and says it did not check elsewhere"
        );
    }
}

#[cfg(test)]
mod tests;
