//! A target's score: which cases behave as AWS, which features it does not implement, and
//! the shares and bands the matrix shows.

use super::*;

/// The fewest refusal cases a feature needs before a target can be said not to implement it.
pub(super) const GAP_MIN_REFUSALS: usize = 2;

/// The features a target does not implement at all.
///
/// The rule: a feature is not implemented when the target refuses none of the requests
/// that AWS refuses for it: at least two such cases ran (an expected error status), they
/// are most of the feature's cases that ran, and every one was accepted (`silent-accept`)
/// or answered NotImplemented. (A feature mostly of accepted requests, such as the
/// directives, is judged by those: a value it fails to refuse is a deviation there.) A store that skips
/// signature checks (LocalStack) or ignores SSE-C keys lacks the feature; it has not got
/// it wrong case by case. Its silent accepts there count as "not implemented", apart from
/// the critical deviations of the features it does implement. The score does not forgive
/// them: they still are cases that do not behave as AWS does. One refusal honoured, and
/// the feature is implemented, its silent accepts critical.
pub fn gaps(cases: &[CaseResult]) -> BTreeSet<String> {
    let mut refusals: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    let mut ran: BTreeMap<&str, usize> = BTreeMap::new();
    for c in cases {
        let judged = !matches!(
            c.verdict.severity(),
            Severity::Skipped | Severity::HarnessError
        );
        if !judged {
            continue;
        }
        for f in &c.features {
            *ran.entry(f).or_default() += 1;
        }
        if c.expected.status.is_none_or(|s| s < 300) {
            continue;
        }
        let ignored = matches!(c.verdict, Verdict::SilentAccept | Verdict::NotImplemented);
        for f in &c.features {
            let entry = refusals.entry(f).or_insert((0, true));
            entry.0 += 1;
            entry.1 &= ignored;
        }
    }
    refusals
        .into_iter()
        .filter(|(f, (n, all_ignored))| {
            *n >= GAP_MIN_REFUSALS && *all_ignored && 2 * n > ran.get(f).copied().unwrap_or(0)
        })
        .map(|(f, _)| f.to_string())
        .collect()
}

/// How the score counts one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// pass or pass-alternative.
    Behaves,
    Minor,
    Major,
    Critical,
    /// Answered NotImplemented, or a silent accept in a feature of `gaps`.
    NotImplemented,
    /// skipped: a capability is missing, or the baseline says not to run the case.
    NotRun,
    /// harness-error: the harness could not judge the case.
    NotJudged,
}

pub fn class(case: &CaseResult, gaps: &BTreeSet<String>) -> Class {
    match case.verdict.severity() {
        Severity::Pass => Class::Behaves,
        Severity::Skipped => Class::NotRun,
        Severity::HarnessError => Class::NotJudged,
        Severity::NotImplemented => Class::NotImplemented,
        Severity::Critical
            if case.verdict == Verdict::SilentAccept
                && case.features.iter().any(|f| gaps.contains(f)) =>
        {
            Class::NotImplemented
        }
        Severity::Critical => Class::Critical,
        Severity::Major => Class::Major,
        Severity::Minor => Class::Minor,
    }
}

/// The cases of a target (or of one of its cells) counted the way the score counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub cases: usize,
    pub behaves: usize,
    pub minor: usize,
    pub major: usize,
    /// Critical deviations of features the target implements.
    pub critical: usize,
    pub not_implemented: usize,
    pub not_run: usize,
    pub not_judged: usize,
    /// The cases the score is taken over: those that ran and were judged.
    pub ran: usize,
}

impl Tally {
    /// A whole target's cases, its gaps found from them.
    pub fn of_target(cases: &[CaseResult]) -> Tally {
        Tally::of(cases, &gaps(cases))
    }

    pub fn of<'a>(
        cases: impl IntoIterator<Item = &'a CaseResult>,
        gaps: &BTreeSet<String>,
    ) -> Tally {
        let mut t = Tally::default();
        for c in cases {
            t.cases += 1;
            match class(c, gaps) {
                Class::Behaves => t.behaves += 1,
                Class::Minor => t.minor += 1,
                Class::Major => t.major += 1,
                Class::Critical => t.critical += 1,
                Class::NotImplemented => t.not_implemented += 1,
                Class::NotRun => t.not_run += 1,
                Class::NotJudged => t.not_judged += 1,
            }
        }
        t.ran = t.cases - t.not_run - t.not_judged;
        t
    }

    /// The better target first: the higher score, then the smaller critical share; a
    /// target where nothing ran comes last.
    pub(super) fn better(&self, other: &Tally) -> Ordering {
        match (self.ran, other.ran) {
            (0, 0) => Ordering::Equal,
            (0, _) => Ordering::Greater,
            (_, 0) => Ordering::Less,
            // a/b > c/d  ⇔  a·d > c·b, without rounding.
            (a, b) => (other.behaves * a)
                .cmp(&(self.behaves * b))
                .then_with(|| (self.critical * b).cmp(&(other.critical * a))),
        }
    }

    /// `89.5 %`, rounded down so that 100 % means every case that ran; None when none ran.
    pub fn score(&self) -> Option<String> {
        (self.ran > 0).then(|| tenths(self.behaves, self.ran, false))
    }

    /// The critical share, rounded up: a compatibility figure is never overstated.
    pub fn critical_share(&self) -> Option<String> {
        (self.ran > 0).then(|| tenths(self.critical, self.ran, true))
    }

    /// `89.5 % behave as AWS does (283 of 316 that ran) · 3.2 % critical (10) · …`.
    pub fn headline(&self) -> String {
        let mut line = match (self.score(), self.critical_share()) {
            (Some(score), Some(critical)) => format!(
                "{score} behave as AWS does ({} of {} that ran) · {critical} critical ({})",
                self.behaves, self.ran, self.critical
            ),
            _ => "no case ran".to_string(),
        };
        if self.not_implemented > 0 {
            line.push_str(&format!(" · not implemented: {}", self.not_implemented));
        }
        line.push_str(&format!(" · not run: {}", self.not_run));
        if self.not_judged > 0 {
            line.push_str(&format!(
                " · not judged (harness error): {}",
                self.not_judged
            ));
        }
        line
    }
}

/// `n / d` as a percentage with one decimal, rounded down (or up).
pub(super) fn tenths(n: usize, d: usize, up: bool) -> String {
    let scaled = n * 1000;
    let t = if up { scaled.div_ceil(d) } else { scaled / d };
    format!("{}.{} %", t / 10, t % 10)
}

/// `92 %`, rounded down.
pub(super) fn whole_percent(n: usize, d: usize) -> String {
    format!("{} %", n * 100 / d)
}

/// A cell's background: the share of its cases that behave as AWS does.
pub(super) const BANDS: [(&str, usize, &str); 5] = [
    ("share-all", 100, "every case that ran"),
    ("share-90", 90, "90 % or more"),
    ("share-75", 75, "75 % or more"),
    ("share-50", 50, "50 % or more"),
    ("share-low", 0, "less than 50 %"),
];

pub(super) fn band(t: &Tally) -> &'static str {
    if t.ran == 0 {
        return "share-none";
    }
    BANDS
        .iter()
        .find(|(_, floor, _)| t.behaves * 100 >= floor * t.ran)
        .map_or("share-low", |(class, _, _)| class)
}
