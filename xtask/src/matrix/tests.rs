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

/// A case where AWS succeeds (sample cases expect a 400).
fn success(id: &str, features: &[&str], verdict: Verdict) -> CaseResult {
    let mut c = case(id, features, verdict);
    c.expected.status = Some(200);
    c.expected.code = None;
    c
}

fn results(target: &str, cases: Vec<CaseResult>) -> Results {
    contract::results::sample::results(target, cases)
}

fn loaded(target: &str, cases: Vec<CaseResult>) -> Loaded {
    Loaded {
        name: target.into(),
        results: results(target, cases),
        baseline: vec![],
        previous: Previous::First,
    }
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
fn the_score_is_the_share_that_behaves_among_the_cases_that_ran() {
    let cases = vec![
        case("a", &["range"], Verdict::Pass),
        case("b", &["range"], Verdict::PassAlternative),
        case("c", &["range"], Verdict::WrongCode),
        case("d", &["range"], Verdict::SilentAccept),
        case("e", &["range"], Verdict::Rejected),
        case("f", &["range"], Verdict::Skipped),
        case("g", &["range"], Verdict::HarnessError),
        case("h", &["range"], Verdict::NotImplemented),
    ];
    let t = Tally::of_target(&cases);
    assert_eq!(
        (t.cases, t.ran, t.behaves, t.minor, t.major, t.critical),
        (8, 6, 2, 1, 1, 1)
    );
    assert_eq!((t.not_implemented, t.not_run, t.not_judged), (1, 1, 1));
    // 2 of 6 rounded down, 1 of 6 critical rounded up.
    assert_eq!(t.score().unwrap(), "33.3 %");
    assert_eq!(t.critical_share().unwrap(), "16.7 %");
    assert_eq!(
        t.headline(),
        "33.3 % behave as AWS does (2 of 6 that ran) · 16.7 % critical (1) · \
         not implemented: 1 · not run: 1 · not judged (harness error): 1"
    );
    let none = Tally::of_target(&[case("s", &["range"], Verdict::Skipped)]);
    assert_eq!(
        (none.score(), none.headline().as_str()),
        (None, "no case ran · not run: 1")
    );
    assert_eq!(text_bar(&t), "██████░░░░░░░░░░░░░░");
}

#[test]
fn a_feature_whose_every_refusal_is_accepted_is_not_implemented() {
    let cases = vec![
        // sse-c: both refusals accepted, the success passes: not implemented.
        case("s/1", &["sse-c"], Verdict::SilentAccept),
        case("s/2", &["sse-c"], Verdict::SilentAccept),
        success("s/3", &["sse-c"], Verdict::Pass),
        // auth: one refusal honoured: implemented, its silent accept is critical.
        case("a/1", &["auth"], Verdict::SilentAccept),
        case("a/2", &["auth"], Verdict::Pass),
        // preconditions: a single refusal is too little to say.
        case("p/1", &["preconditions"], Verdict::SilentAccept),
        // range: NotImplemented answers and a silent accept, the skip not counted.
        case("r/1", &["range"], Verdict::NotImplemented),
        case("r/2", &["range"], Verdict::SilentAccept),
        case("r/3", &["range"], Verdict::Skipped),
        // versioning: another deviation among the refusals.
        case("v/1", &["versioning"], Verdict::SilentAccept),
        case("v/2", &["versioning"], Verdict::WrongCode),
        // in-place: refusals both accepted, but they are not most of its cases.
        case("i/1", &["in-place"], Verdict::SilentAccept),
        case("i/2", &["in-place"], Verdict::SilentAccept),
        success("i/3", &["in-place"], Verdict::Pass),
        success("i/4", &["in-place"], Verdict::Pass),
    ];
    let g = gaps(&cases);
    assert_eq!(g.iter().collect::<Vec<_>>(), ["range", "sse-c"]);
    let t = Tally::of(&cases, &g);
    // s/1, s/2, r/1, r/2 not implemented; a/1, p/1, v/1, i/1, i/2 critical.
    assert_eq!((t.not_implemented, t.critical, t.behaves), (4, 5, 4));

    let m = Matrix::build(&[loaded("t", cases)], &vocabulary());
    let cell = |f: &str| m.targets[0].cells.iter().find(|c| c.feature == f).unwrap();
    assert!(cell("sse-c").gap && !cell("auth").gap);
    assert_eq!(
        (cell("sse-c").shade, cell("auth").shade),
        ("not-implemented", "critical")
    );
    let entry = cell("sse-c")
        .entries
        .iter()
        .find(|e| e.id == "s/1")
        .unwrap();
    assert_eq!(
        (entry.verdict, entry.weight),
        ("silent-accept", "not implemented")
    );
    assert_eq!(m.targets[0].gaps, ["range", "sse-c"]);
    let md = m.render_markdown().unwrap();
    assert!(md.contains("[not implemented](#t--sse-c)"), "{md}");
    assert!(md.contains("| 4: range, sse-c |"), "{md}");
    let html = m.render_html().unwrap();
    assert!(
        html.contains("<td class=\"not-implemented gap\">"),
        "{html}"
    );
}

#[test]
fn targets_are_ordered_by_score_then_by_critical_share() {
    let p = |id: &str| case(id, &["range"], Verdict::Pass);
    let worse = loaded(
        "aaa-worse",
        vec![
            p("1"),
            case("2", &["range"], Verdict::WrongCode),
            case("3", &["range"], Verdict::WrongCode),
        ],
    );
    // The same score as `minor`, with a critical deviation: after it.
    let critical = loaded(
        "bbb-critical",
        vec![p("1"), p("2"), case("3", &["range"], Verdict::DataMismatch)],
    );
    let minor = loaded(
        "ccc-minor",
        vec![p("1"), p("2"), case("3", &["range"], Verdict::WrongStatus)],
    );
    let best = loaded(
        "ddd-best",
        vec![p("1"), p("2"), case("3", &["range"], Verdict::Skipped)],
    );
    let none = loaded("aaa-none", vec![case("1", &["range"], Verdict::Skipped)]);
    let m = Matrix::build(&[none, worse, critical, minor, best], &vocabulary());
    let order: Vec<(usize, &str, &str)> = m
        .targets
        .iter()
        .map(|t| (t.rank, t.name.as_str(), t.score.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (1, "ddd-best", "100.0 %"),
            (2, "ccc-minor", "66.6 %"),
            (3, "bbb-critical", "66.6 %"),
            (4, "aaa-worse", "33.3 %"),
            (5, "aaa-none", "no case ran"),
        ]
    );
    let md = m.render_markdown().unwrap();
    let first_row = md.lines().find(|l| l.starts_with("| 1 |")).unwrap();
    assert!(first_row.contains("[ddd-best]"), "{first_row}");
    // The chart draws bars in the same order, each as wide as the cases that ran.
    let bar = &m.targets[2].segments;
    let parts: Vec<(&str, usize, &str)> = bar
        .iter()
        .map(|s| (s.class, s.n, s.width.as_str()))
        .collect();
    assert_eq!(parts, [("pass", 2, "320.0"), ("critical", 1, "160.0")]);
    let html = m.render_html().unwrap();
    let at = |needle: &str| html.find(needle).unwrap();
    assert!(at("id=\"bar-ddd-best\"") < at("id=\"bar-ccc-minor\""));
    assert!(at("id=\"bar-bbb-critical\"") < at("id=\"bar-aaa-worse\""));
}

#[test]
fn a_cell_gives_its_share_and_the_colour_of_its_worst_verdict() {
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
    let m = Matrix::build(
        &[Loaded {
            name: "t".into(),
            results: r,
            baseline,
            previous: Previous::First,
        }],
        &vocabulary(),
    );
    let cell = |f: &str| m.targets[0].cells.iter().find(|c| c.feature == f).unwrap();
    assert_eq!(cell("range").shade, "critical");
    assert_eq!(cell("preconditions").shade, "critical");
    assert_eq!(cell("part-number").shade, "pass");
    assert_eq!(cell("upload-id").shade, "skipped");
    assert_eq!(cell("copy-source").shade, "not-implemented");
    assert_eq!(cell("lifecycle").shade, "major");
    assert_eq!(cell("error-codes").shade, "harness-error");
    assert!(m.uncovered.contains(&"versioning".to_string()));
    let shares: Vec<(&str, &str, &str)> = ["range", "part-number", "upload-id", "copy-source"]
        .iter()
        .map(|f| (*f, cell(f).share.as_str(), cell(f).band))
        .collect();
    assert_eq!(
        shares,
        [
            ("range", "33 %", "share-low"),
            ("part-number", "100 %", "share-all"),
            ("upload-id", "not run", "share-none"),
            ("copy-source", "50 %", "share-50"),
        ]
    );

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
fn the_change_since_the_committed_report_is_on_both_pages() {
    let before = results(
        "t",
        vec![
            case("a", &["range"], Verdict::Pass),
            case("b", &["range"], Verdict::WrongCode),
        ],
    );
    let now = vec![
        case("a", &["range"], Verdict::DataMismatch),
        case("b", &["range"], Verdict::Pass),
    ];
    let m = Matrix::build(
        &[Loaded {
            previous: Previous::Found(Box::new(before)),
            ..loaded("t", now)
        }],
        &vocabulary(),
    );
    assert_eq!(
        m.targets[0].change.summary,
        "1 new deviation, 1 fixed, 1 of the new ones critical"
    );
    let md = m.render_markdown().unwrap();
    assert!(
        md.contains("- new: `a` pass → **data-mismatch** (critical)"),
        "{md}"
    );
    assert!(md.contains("- fixed: `b` wrong-code → pass"), "{md}");
    let html = m.render_html().unwrap();
    assert!(html.contains("new: <code>a</code> pass → <strong>data-mismatch</strong>"));
}

/// The committed reports: LocalStack, the AWS stand-in, lacks signature checks; scored
/// by share it still ranks first, and that feature reads as not implemented rather than
/// critical. (It validates no directive value either, but the directives are mostly
/// accepted requests it gets right: implemented.)
#[test]
fn the_committed_reports_rank_localstack_first_with_its_gaps_apart() {
    let reports = root().join("reports");
    let targets = select_targets(&reports, &["all".into()]).unwrap();
    let m = Matrix::load(&reports, &targets, &vocabulary()).unwrap();
    let first = &m.targets[0];
    assert_eq!(first.name, "localstack");
    assert_eq!(first.gaps, ["auth"]);
    let md = m.render_markdown().unwrap();
    let head: String = md.lines().take(25).collect::<Vec<_>>().join("\n");
    assert!(!head.contains("CRITICAL") && !head.contains('🟥'), "{head}");
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

fn args(targets: &[&str], run: bool) -> Args {
    Args {
        targets: targets.iter().map(|t| t.to_string()).collect(),
        run,
        from_reports: false,
        jobs: 2,
    }
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
    let err = run(empty.path(), args(&["nope"], false)).unwrap_err();
    assert!(
        format!("{err:#}").contains("reports/nope/results.json"),
        "{err:#}"
    );
    // Asked to run a target nobody can start: refused before anything runs.
    let err = run(empty.path(), args(&["minio"], true)).unwrap_err();
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

fn headless(chromium: &Path, profile: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(chromium);
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

/// Where the screenshot is kept for a reviewer: the cargo target folder.
fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    std::fs::create_dir_all(&target).unwrap();
    target.join("matrix-screenshot.png")
}

#[test]
fn the_html_matrix_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        let why = "chromium is not installed (Debian's package: `apt-get install chromium`; \
                   `cargo xtask test` installs it as root), so the HTML matrix was not checked";
        // Under CI not checking is a failure; on a workstation it is said, not hidden.
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("NOT CHECKED: {why}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let reports = root().join("reports");
    let targets = select_targets(&reports, &["all".into()]).unwrap();
    let matrix = Matrix::load(&reports, &targets, &vocabulary()).unwrap();
    matrix.write(dir.path()).unwrap();
    let page = format!("file://{}", dir.path().join("matrix.html").display());

    let png = screenshot_path();
    let _ = std::fs::remove_file(&png);
    let ok = run_bounded(
        headless(&chromium, &dir.path().join("profile-shot"))
            .arg(format!("--screenshot={}", png.display()))
            .arg("--window-size=1200,800")
            .arg(&page),
        &dir.path().join("shot.out"),
        Duration::from_secs(90),
    );
    assert!(ok, "chromium --screenshot failed");
    let size = std::fs::metadata(&png)
        .expect("a screenshot was written")
        .len();
    assert!(
        size > 20_000,
        "a {size}-byte screenshot is too small for the page"
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
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
    // The chart's bars are drawn in their colours: the pass green is on screen.
    let green = pixels
        .chunks(bytes)
        .filter(|p| p[..3] == [0x2d, 0xa4, 0x4e])
        .count();
    assert!(
        green > 1000,
        "only {green} pixels of the chart's pass green"
    );

    let dom = dir.path().join("dom.html");
    let ok = run_bounded(
        headless(&chromium, &dir.path().join("profile-dom"))
            .arg("--dump-dom")
            .arg(&page),
        &dom,
        Duration::from_secs(90),
    );
    assert!(ok, "chromium --dump-dom failed");
    let dom = std::fs::read_to_string(&dom).unwrap();
    assert!(
        dom.contains("<title>Multipart copy conformance: targets × features</title>"),
        "{dom}"
    );
    // The browser's first score row is the best target, as ranked.
    let row = dom.find("<tr class=\"score-row\"").expect("a score row");
    let first = &matrix.targets[0].name;
    assert!(
        dom[row..].starts_with(&format!("<tr class=\"score-row\" data-target=\"{first}\"")),
        "{}",
        &dom[row..row + 200]
    );
    assert!(dom.contains("<svg class=\"chart\""), "{dom}");
    assert!(dom.contains("<table class=\"matrix\""), "{dom}");
    for t in &targets {
        assert!(dom.contains(&format!("id=\"{t}--range\"")), "{dom}");
    }
}
