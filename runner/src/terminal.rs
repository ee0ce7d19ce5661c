//! What a person at a terminal sees while a run goes on: a progress bar (indicatif) and a
//! coloured summary at the end. Anywhere else (CI logs, pipes) the output stays plain:
//! libtest's line per case, then the summary without colour.

use console::Style;
use contract::results::Results;
use contract::Verdict;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Whether this run draws a bar: both streams are a terminal and the user asked for no
/// particular libtest output (a format, quiet, or a log file of their own).
pub fn interactive(args: &libtest_mimic::Arguments) -> bool {
    std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
        && args.logfile.is_none()
        && args.format.is_none()
        && !args.quiet
        && !args.list
}

/// Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
pub fn colour_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Progress of the run: counts as cases finish, and the lines that fail the run.
pub struct Progress {
    bar: Option<ProgressBar>,
    colour: bool,
    as_expected: AtomicUsize,
    known: AtomicUsize,
    failures: Mutex<Vec<String>>,
}

impl Progress {
    pub fn new(total: usize, draw_bar: bool) -> Progress {
        let bar = draw_bar.then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
                )
                .expect("the template is a constant")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            colour: colour_wanted(),
            as_expected: AtomicUsize::new(0),
            known: AtomicUsize::new(0),
            failures: Mutex::new(Vec::new()),
        }
    }

    /// One case finished: as expected, a known deviation, or a failure of the run (a
    /// regression or an unexpected pass, with the baseline line to change).
    pub fn case_done(&self, known: bool, failure: Option<&str>) {
        match failure {
            Some(line) => {
                self.failures
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(line.to_string());
                if let Some(bar) = &self.bar {
                    bar.println(format!("{} {line}", self.paint(&red(), "FAILED")));
                }
            }
            None if known => {
                self.known.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                self.as_expected.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{} as expected · {} known · {} failed",
                self.as_expected.load(Ordering::Relaxed),
                self.known.load(Ordering::Relaxed),
                self.failures.lock().map(|f| f.len()).unwrap_or_default()
            ));
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// The end of the run: the verdict line, the counts by verdict coloured by weight, and
    /// on a terminal (where libtest's own failure list went to the log) what failed.
    pub fn print_summary(&self, results: &Results) {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let line_style = if failures.is_empty() {
            Style::new().green().bold()
        } else {
            Style::new().red().bold()
        };
        eprintln!(
            "{}: {}",
            results.target,
            self.paint(&line_style, &results.verdict_line())
        );
        let counts: Vec<String> = Verdict::ALL
            .iter()
            .filter_map(|v| {
                let n = results.totals.get(v.name())?;
                Some(self.paint(&verdict_style(*v), &format!("{} {n}", v.name())))
            })
            .collect();
        eprintln!("  {}", counts.join(" · "));
        if self.bar.is_some() {
            for line in failures.iter() {
                eprintln!("  {} {line}", self.paint(&red(), "FAILED"));
            }
        }
    }

    fn paint(&self, style: &Style, text: &str) -> String {
        style
            .clone()
            .force_styling(self.colour)
            .apply_to(text)
            .to_string()
    }
}

fn red() -> Style {
    Style::new().red().bold()
}

/// Green for behaving as AWS does, red for critical, yellow for major, plain otherwise.
fn verdict_style(verdict: Verdict) -> Style {
    match (verdict, verdict.weight()) {
        (Verdict::Pass | Verdict::PassAlternative, _) => Style::new().green(),
        (_, "critical") => Style::new().red().bold(),
        (_, "major") => Style::new().yellow(),
        (Verdict::HarnessError, _) => Style::new().magenta(),
        _ => Style::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_failures_are_kept_without_a_bar() {
        let p = Progress::new(3, false);
        p.case_done(false, None);
        p.case_done(true, None);
        p.case_done(false, Some("x is wrong-code: add a [[deviation]]"));
        assert_eq!(p.as_expected.load(Ordering::Relaxed), 1);
        assert_eq!(p.known.load(Ordering::Relaxed), 1);
        assert_eq!(
            *p.failures.lock().unwrap(),
            vec!["x is wrong-code: add a [[deviation]]".to_string()]
        );
    }

    #[test]
    fn colour_is_applied_only_when_wanted() {
        let mut p = Progress::new(0, false);
        p.colour = false;
        assert_eq!(p.paint(&red(), "FAILED"), "FAILED");
        p.colour = true;
        assert_ne!(p.paint(&red(), "FAILED"), "FAILED");
        assert!(p.paint(&red(), "FAILED").contains("FAILED"));
    }
}
