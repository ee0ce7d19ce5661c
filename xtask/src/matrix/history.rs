//! What changed since the previous report: each target's results.json beside the version
//! of that file in git HEAD, case by case.

use super::Tally;
use contract::results::Results;
use contract::Verdict;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// A target's results as last committed.
pub enum Previous {
    Found(Box<Results>),
    /// HEAD has no results.json for this target.
    First,
    /// There is nothing to compare with, and why (no git, not a checkout, another format).
    Unavailable(String),
}

/// The target's previous report, read from git in the reports folder.
///
/// Reports are committed records of real runs, so git already keeps every earlier one: no
/// copy is saved beside them. After `--run` rewrote results.json, the previous report is
/// `HEAD:./<target>/results.json`. Once that new file is committed too (the file on disk
/// equals HEAD's), the previous one is the version before the last commit that changed
/// the file, so redrawing the matrix after the commit still shows the same change.
pub fn committed(reports: &Path, target: &str) -> Previous {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(reports)
            .args(args)
            .stdin(Stdio::null())
            .output()
    };
    match git(&["rev-parse", "--verify", "--quiet", "HEAD"]) {
        Err(e) => return Previous::Unavailable(format!("git cannot run ({e})")),
        Ok(out) if !out.status.success() => {
            return Previous::Unavailable(format!(
                "{} is not in a git checkout with a commit",
                reports.display()
            ))
        }
        Ok(_) => {}
    }
    let path = format!("./{target}/results.json");
    let mut spec = format!("HEAD:{path}");
    let on_disk = std::fs::read(reports.join(target).join("results.json")).ok();
    let at_head = git(&["show", &spec]).ok().filter(|o| o.status.success());
    if let (Some(disk), Some(head)) = (&on_disk, &at_head) {
        if *disk == head.stdout {
            // The two latest commits that changed the file: the second holds the previous.
            let log = git(&["log", "-n", "2", "--format=%H", "HEAD", "--", &path]);
            let commits = log
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            match commits.lines().nth(1) {
                Some(before) => spec = format!("{before}:{path}"),
                None => return Previous::First,
            }
        }
    }
    let out = match git(&["show", &spec]) {
        Ok(out) => out,
        Err(e) => return Previous::Unavailable(format!("git cannot run ({e})")),
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        // git's words for a path HEAD does not have.
        if err.contains("does not exist") || err.contains("exists on disk, but not in") {
            return Previous::First;
        }
        let line = err.lines().next().unwrap_or("").trim().to_string();
        return Previous::Unavailable(format!("git show {spec} failed: {line}"));
    }
    match serde_json::from_slice::<Results>(&out.stdout) {
        Ok(results) => Previous::Found(Box::new(results)),
        Err(e) => Previous::Unavailable(format!(
            "the committed {target}/results.json is of another format ({e})"
        )),
    }
}

/// One case whose verdict moved.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Moved {
    pub id: String,
    /// The verdict before (`absent`: the case is new).
    pub before: String,
    /// The verdict now (`absent`: the case is gone).
    pub now: String,
    /// `critical`, `major` or `minor` of the verdict that counts: now's for a new
    /// deviation, before's for a fixed one.
    pub weight: &'static str,
}

#[derive(Debug, Serialize, Default)]
pub struct Change {
    /// `first report`, `no change`, or what changed.
    pub summary: String,
    /// Deviations now where the case behaved as AWS does, was not run, or did not exist.
    pub new: Vec<Moved>,
    /// Deviations before that behave as AWS does now.
    pub fixed: Vec<Moved>,
    /// Deviations before that are another deviation now, are not run, or are gone.
    pub changed: Vec<Moved>,
}

const ABSENT: &str = "absent";

pub fn change(previous: &Previous, now: &Results) -> Change {
    let before = match previous {
        Previous::Found(before) => before,
        Previous::First => {
            return Change {
                summary: "first report".into(),
                ..Change::default()
            }
        }
        Previous::Unavailable(why) => {
            return Change {
                summary: format!("not compared: {why}"),
                ..Change::default()
            }
        }
    };
    let by_id = |r: &Results| -> BTreeMap<String, Verdict> {
        r.cases.iter().map(|c| (c.id.clone(), c.verdict)).collect()
    };
    let (old, new) = (by_id(before), by_id(now));
    let mut ids: Vec<&String> = old.keys().chain(new.keys()).collect();
    ids.sort();
    ids.dedup();
    let mut change = Change::default();
    for id in ids {
        let (b, n) = (old.get(id).copied(), new.get(id).copied());
        if b == n {
            continue;
        }
        let deviates = |v: Option<Verdict>| v.is_some_and(Verdict::is_deviation);
        let behaves =
            |v: Option<Verdict>| v.is_some_and(|v| !v.is_deviation() && v != Verdict::Skipped);
        let name = |v: Option<Verdict>| v.map_or(ABSENT.to_string(), |v| v.name().to_string());
        let moved = |weight: Option<Verdict>| Moved {
            id: id.clone(),
            before: name(b),
            now: name(n),
            weight: weight.map_or("", Verdict::weight),
        };
        if deviates(n) && !deviates(b) {
            change.new.push(moved(n));
        } else if deviates(b) && behaves(n) {
            change.fixed.push(moved(b));
        } else if deviates(b) {
            change
                .changed
                .push(moved(n.filter(|v| v.is_deviation()).or(b)));
        }
        // The rest move between behaving, skipped and absent: no deviation either side.
    }
    let (score_before, score_now) = (
        Tally::of_target(&before.cases).score(),
        Tally::of_target(&now.cases).score(),
    );
    let mut parts = Vec::new();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    if !change.new.is_empty() {
        parts.push(plural(change.new.len(), "new deviation", "new deviations"));
    }
    if !change.fixed.is_empty() {
        parts.push(format!("{} fixed", change.fixed.len()));
    }
    if !change.changed.is_empty() {
        parts.push(plural(
            change.changed.len(),
            "deviation changed",
            "deviations changed",
        ));
    }
    let critical = change.new.iter().filter(|m| m.weight == "critical").count();
    if critical > 0 {
        parts.push(format!("{critical} of the new ones critical"));
    }
    if score_before != score_now {
        parts.push(format!(
            "score {} → {}",
            score_before.as_deref().unwrap_or("none"),
            score_now.as_deref().unwrap_or("none")
        ));
    }
    change.summary = if parts.is_empty() {
        let (b, n) = (before.cases.len(), now.cases.len());
        if b == n {
            "no change".into()
        } else {
            format!("no deviation changed ({b} cases then, {n} now)")
        }
    } else {
        parts.join(", ")
    };
    change
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::results::sample;

    /// `results` with some verdicts replaced.
    fn with_verdicts(results: &Results, verdicts: &[(&str, Verdict)]) -> Results {
        let mut cases = results.cases.clone();
        for (id, v) in verdicts {
            if let Some(c) = cases.iter_mut().find(|c| c.id == *id) {
                c.verdict = *v;
            }
        }
        contract::results::sample::results(&results.target, cases)
    }

    fn results(cases: &[(&str, Verdict)]) -> Results {
        sample::results(
            "t",
            cases.iter().map(|(id, v)| sample::case(id, *v)).collect(),
        )
    }

    #[test]
    fn new_fixed_and_changed_deviations_are_listed_apart() {
        let before = results(&[
            ("a", Verdict::Pass),
            ("b", Verdict::WrongCode),
            ("c", Verdict::WrongStatus),
            ("d", Verdict::Skipped),
            ("e", Verdict::ServerError),
            ("f", Verdict::Pass),
            ("g", Verdict::Rejected),
        ]);
        let now = results(&[
            ("a", Verdict::SilentAccept),
            ("b", Verdict::Pass),
            ("c", Verdict::ServerError),
            ("d", Verdict::WrongCode),
            ("e", Verdict::Skipped),
            ("f", Verdict::PassAlternative),
            ("h", Verdict::DataMismatch),
        ]);
        let c = change(&Previous::Found(Box::new(before)), &now);
        fn ids(v: &[Moved]) -> Vec<&str> {
            v.iter().map(|m| m.id.as_str()).collect()
        }
        assert_eq!(ids(&c.new), ["a", "d", "h"]);
        assert_eq!(ids(&c.fixed), ["b"]);
        assert_eq!(ids(&c.changed), ["c", "e", "g"]);
        assert_eq!(
            c.new[2],
            Moved {
                id: "h".into(),
                before: "absent".into(),
                now: "data-mismatch".into(),
                weight: "critical"
            }
        );
        assert_eq!(
            (c.changed[2].now.as_str(), c.changed[2].weight),
            ("absent", "major")
        );
        // Before: 2 of 6 that ran behave (33.3 %); now 2 of 6 (33.3 %): no score change.
        assert_eq!(
            c.summary,
            "3 new deviations, 1 fixed, 3 deviations changed, 2 of the new ones critical"
        );
    }

    #[test]
    fn the_same_verdicts_are_no_change_and_a_first_report_says_so() {
        let r = results(&[("a", Verdict::Pass), ("b", Verdict::WrongCode)]);
        let same = change(&Previous::Found(Box::new(r.clone())), &r);
        assert_eq!(same.summary, "no change");
        assert!(same.new.is_empty() && same.fixed.is_empty() && same.changed.is_empty());
        assert_eq!(change(&Previous::First, &r).summary, "first report");
        let fixed = with_verdicts(&r, &[("b", Verdict::Pass)]);
        let c = change(&Previous::Found(Box::new(r.clone())), &fixed);
        assert_eq!(c.summary, "1 fixed, score 50.0 % → 100.0 %");
    }

    #[test]
    fn the_committed_version_comes_from_git_head() {
        let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports");
        let Previous::Found(embedded) = committed(&reports, "embedded") else {
            panic!("reports/embedded/results.json is committed");
        };
        assert_eq!(embedded.target, "embedded");
        assert!(matches!(
            committed(&reports, "no-such-target"),
            Previous::First
        ));
        let outside = tempfile::tempdir().unwrap();
        let Previous::Unavailable(why) = committed(outside.path(), "embedded") else {
            panic!("a folder outside any checkout has no committed version");
        };
        assert!(why.contains("not in a git checkout"), "{why}");
    }

    #[test]
    fn the_previous_report_stays_the_same_once_the_new_one_is_committed() {
        let repo = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(repo.path())
                .args(["-c", "user.name=t", "-c", "user.email=t@127.0.0.1"])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        };
        let reports = repo.path().join("reports");
        std::fs::create_dir_all(reports.join("t")).unwrap();
        let write = |verdict: Verdict| {
            let r = results(&[("a", verdict)]);
            std::fs::write(
                reports.join("t/results.json"),
                serde_json::to_vec(&r).unwrap(),
            )
            .unwrap();
        };
        let previous_verdict = || match committed(&reports, "t") {
            Previous::Found(r) => Some(r.cases[0].verdict),
            Previous::First => None,
            Previous::Unavailable(why) => panic!("{why}"),
        };
        git(&["init", "-q"]);
        write(Verdict::WrongCode);
        // Not committed yet: nothing before it.
        git(&["commit", "-q", "--allow-empty", "-m", "empty"]);
        assert_eq!(previous_verdict(), None);
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "first"]);
        assert_eq!(previous_verdict(), None);
        // A new run on disk: HEAD's is the previous one; committed, it still is.
        write(Verdict::Pass);
        assert_eq!(previous_verdict(), Some(Verdict::WrongCode));
        git(&["commit", "-q", "-am", "second"]);
        assert_eq!(previous_verdict(), Some(Verdict::WrongCode));
        std::fs::write(repo.path().join("other"), "x").unwrap();
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "unrelated"]);
        assert_eq!(previous_verdict(), Some(Verdict::WrongCode));
    }
}
