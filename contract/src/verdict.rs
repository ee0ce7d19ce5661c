//! The verdict table: every grade a case can get, how much it weighs, and how reports
//! rank and colour it. Summaries, JUnit, the terminal and the matrix all read it here.

use serde::{Deserialize, Serialize};

/// A case's grade: not pass/fail, but what kind of difference from the profile was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Exactly what the profile expects, every declared check run.
    Pass,
    /// An outcome the case lists as tolerated.
    PassAlternative,
    /// The right status and code, with another message or missing or other error elements.
    ErrorDetails,
    /// The right status, another error code.
    WrongCode,
    /// Fails as AWS fails, with another status.
    WrongStatus,
    /// An error where AWS succeeds (also a setup step the server refused).
    Rejected,
    /// A successful answer whose metadata is wrong or missing: an ETag's value or form, a
    /// version-id header, a checksum, an output member. The bytes are not in question.
    WrongMetadata,
    /// 2xx where AWS refuses: the client is never told.
    SilentAccept,
    /// Bytes or sizes read back differ from what was written or copied.
    DataMismatch,
    /// 5xx.
    ServerError,
    /// 501 / NotImplemented.
    NotImplemented,
    /// A declared capability is absent, or the case was not run.
    Skipped,
    /// The harness could not judge: its own failure or a transport fault.
    HarnessError,
}

/// How much a verdict matters, worst first: the order reports rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Loses or corrupts data, or lets a bad request through.
    Critical,
    /// Refuses what AWS does, or fails on the server side.
    Major,
    /// The harness could not judge: never hidden behind a milder colour.
    HarnessError,
    /// Fails as AWS fails, with another status or code.
    Minor,
    /// Reported apart: the operation is not there at all.
    NotImplemented,
    /// Behaves as the profile expects.
    Pass,
    /// Nothing was learnt (a capability is missing, the case was not run).
    Skipped,
}

impl Verdict {
    pub const ALL: [Verdict; 13] = [
        Verdict::Pass,
        Verdict::PassAlternative,
        Verdict::ErrorDetails,
        Verdict::WrongCode,
        Verdict::WrongStatus,
        Verdict::Rejected,
        Verdict::WrongMetadata,
        Verdict::SilentAccept,
        Verdict::DataMismatch,
        Verdict::ServerError,
        Verdict::NotImplemented,
        Verdict::Skipped,
        Verdict::HarnessError,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::PassAlternative => "pass-alternative",
            Verdict::ErrorDetails => "error-details",
            Verdict::WrongCode => "wrong-code",
            Verdict::WrongStatus => "wrong-status",
            Verdict::Rejected => "rejected",
            Verdict::WrongMetadata => "wrong-metadata",
            Verdict::SilentAccept => "silent-accept",
            Verdict::DataMismatch => "data-mismatch",
            Verdict::ServerError => "server-error",
            Verdict::NotImplemented => "not-implemented",
            Verdict::Skipped => "skipped",
            Verdict::HarnessError => "harness-error",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Verdict::SilentAccept | Verdict::DataMismatch => Severity::Critical,
            Verdict::Rejected | Verdict::WrongMetadata | Verdict::ServerError => Severity::Major,
            Verdict::HarnessError => Severity::HarnessError,
            Verdict::ErrorDetails | Verdict::WrongCode | Verdict::WrongStatus => Severity::Minor,
            Verdict::NotImplemented => Severity::NotImplemented,
            Verdict::Pass | Verdict::PassAlternative => Severity::Pass,
            Verdict::Skipped => Severity::Skipped,
        }
    }

    /// A deviation is anything a vendor would need to look at.
    pub fn is_deviation(self) -> bool {
        !matches!(self.severity(), Severity::Pass | Severity::Skipped)
    }

    /// The worse of two verdicts (the first when they weigh the same).
    pub fn worse(self, other: Verdict) -> Verdict {
        if other.severity() < self.severity() {
            other
        } else {
            self
        }
    }

    /// `minor`, `major` or `critical`; empty for verdicts that carry no weight.
    pub fn weight(self) -> &'static str {
        match self.severity() {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::Minor => "minor",
            _ => "",
        }
    }
}

impl Severity {
    pub const ALL: [Severity; 7] = [
        Severity::Critical,
        Severity::Major,
        Severity::HarnessError,
        Severity::Minor,
        Severity::NotImplemented,
        Severity::Pass,
        Severity::Skipped,
    ];

    /// CSS class and legend word.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Major => "major",
            Severity::HarnessError => "harness-error",
            Severity::Minor => "minor",
            Severity::NotImplemented => "not-implemented",
            Severity::Pass => "pass",
            Severity::Skipped => "skipped",
        }
    }

    /// A coloured square for Markdown, where there is no CSS.
    pub fn mark(self) -> &'static str {
        match self {
            Severity::Critical => "🟥",
            Severity::Major => "🟧",
            Severity::HarnessError => "🟪",
            Severity::Minor => "🟨",
            Severity::NotImplemented => "⬜",
            Severity::Pass => "🟩",
            Severity::Skipped => "➖",
        }
    }

    /// The legend line of a matrix cell of this severity.
    pub fn meaning(self) -> &'static str {
        match self {
            Severity::Critical => "critical: silent-accept or data-mismatch",
            Severity::Major => "major: rejected, wrong-metadata or server-error",
            Severity::HarnessError => "harness-error: the harness could not judge",
            Severity::Minor => "minor: error-details, wrong-code or wrong-status",
            Severity::NotImplemented => "not-implemented",
            Severity::Pass => "behaves as AWS does (pass, pass-alternative)",
            Severity::Skipped => "every case skipped",
        }
    }
}

impl std::str::FromStr for Verdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| format!("unknown verdict {s:?}"))
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verdict_has_a_name_that_reads_back_and_a_severity_in_the_table() {
        for v in Verdict::ALL {
            assert_eq!(v.name().parse::<Verdict>(), Ok(v));
            assert!(Severity::ALL.contains(&v.severity()));
        }
        // Each legend line names exactly the verdicts of its severity.
        for s in [Severity::Critical, Severity::Major, Severity::Minor] {
            for v in Verdict::ALL {
                assert_eq!(
                    s.meaning().contains(v.name()),
                    v.severity() == s,
                    "{s:?} {v}"
                );
            }
        }
    }
}
