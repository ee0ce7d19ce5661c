//! Differential runs and the oracle check.
//!
//! `--reference URL`: every case runs against the reference endpoint and the target in the
//! same run, and the reports list where the two answered differently, expectations aside:
//! the status, the error code, and (with both the same) what the checks look at (output
//! members, headers, ETags, checksums, bytes read back). Error messages are not compared:
//! no two servers word them alike.
//!
//! `--oracle`: the endpoint is taken as a reference; the cases whose expectations it
//! contradicts (any that does not pass) go to `reports/<target>/oracle.md`.

use crate::aws_chain::{self, Chain, Flags, Settings};
use crate::cli::{Cli, Paths};
use anyhow::{bail, Result};
use contract::results::{status_code, CaseResult, Difference, Differences, Results, Side};
use contract::Verdict;
use std::fmt::Write as _;

#[derive(clap::Args, Debug, Default, Clone)]
pub struct ReferenceArgs {
    /// A reference endpoint (e.g. Amazon S3, or another release of the same server): each
    /// case also runs against it, and the reports list where the two answer differently
    /// (`differences` in results.json and summary.md).
    #[arg(long, value_name = "URL")]
    pub reference: Option<String>,
    /// The AWS credentials profile whose keys and region the reference gets (else the
    /// target's: the flags, then the standard chain).
    #[arg(long, value_name = "NAME", requires = "reference")]
    pub reference_profile: Option<String>,
    /// Oracle check: take the endpoint as the reference, the baseline aside, and list the
    /// cases whose expectations it contradicts in reports/<target>/oracle.md.
    #[arg(long, conflicts_with = "reference")]
    pub oracle: bool,
}

impl ReferenceArgs {
    pub fn check(&self) -> Result<()> {
        if let Some(url) = &self.reference {
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| anyhow::anyhow!("--reference {url:?} is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("--reference {url:?} must be http:// or https://");
            }
        }
        if self
            .reference_profile
            .as_deref()
            .is_some_and(|p| p.trim().is_empty())
        {
            bail!("--reference-profile is empty");
        }
        Ok(())
    }

    /// Where the reference's keys and region come from: its own profile, else the
    /// target's flags and chain.
    pub async fn settings(&self, cli: &Cli, target: &Settings) -> Result<Option<Settings>> {
        let Some(url) = self.reference.as_deref() else {
            return Ok(None);
        };
        let settings = match self.reference_profile.as_deref() {
            Some(name) => {
                let flags = Flags {
                    endpoint: Some(url),
                    ..Flags::default()
                };
                let settings = aws_chain::resolve(flags, Chain::Profile(name)).await?;
                if settings.profile_missing() {
                    bail!(
                        "--reference-profile {name}: no such profile in the AWS config or \
                         credentials file (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE)"
                    );
                }
                settings
            }
            None => {
                let flags = Flags {
                    endpoint: Some(url),
                    region: Some(&target.region),
                    ..cli.flags()
                };
                aws_chain::resolve(
                    flags,
                    Chain::Standard {
                        profile: cli.profile.as_deref(),
                    },
                )
                .await?
            }
        };
        Ok(Some(settings))
    }
}

/// The outcome the two sides are compared by: status and code, and the verdict when those
/// agree (both are judged by the same expectation, so a different verdict there is a
/// different finding of the checks).
fn side(result: &CaseResult) -> Side {
    Side {
        observed: match &result.observed {
            Some(o) => status_code(Some(o.status), o.code.as_deref()),
            None => "no response".into(),
        },
        verdict: result.verdict,
        detail: result.details.first().cloned(),
    }
}

/// Whether a case ran far enough on this side to be compared, else why not.
fn not_comparable(result: &CaseResult) -> Option<String> {
    if result.verdict == Verdict::Skipped {
        return Some(format!("skipped: {}", result.first_detail()));
    }
    if result.observed.is_none() {
        return Some(format!(
            "{}: {}",
            result.verdict.name(),
            result.first_detail()
        ));
    }
    None
}

/// One case compared: Ok(None) the same, Ok(Some) a difference, Err why it was not compared.
pub fn compare(target: &CaseResult, reference: &CaseResult) -> Result<Option<Difference>, String> {
    match (not_comparable(target), not_comparable(reference)) {
        (None, None) => {}
        (t, r) => {
            let mut why = Vec::new();
            if let Some(t) = t {
                why.push(format!("target {t}"));
            }
            if let Some(r) = r {
                why.push(format!("reference {r}"));
            }
            return Err(format!("{}: {}", target.id, why.join("; ")));
        }
    }
    let (t, r) = (
        target.observed.as_ref().expect("compared"),
        reference.observed.as_ref().expect("compared"),
    );
    let mut differs = Vec::new();
    if t.status != r.status {
        differs.push("status".to_string());
    }
    if t.code != r.code {
        differs.push("code".to_string());
    }
    if differs.is_empty() && target.verdict != reference.verdict {
        differs.push("checks".to_string());
    }
    Ok((!differs.is_empty()).then(|| Difference {
        id: target.id.clone(),
        differs,
        target: side(target),
        reference: side(reference),
    }))
}

/// Collects the comparisons of a run.
#[derive(Default)]
pub struct Collected {
    compared: usize,
    not_compared: Vec<String>,
    cases: Vec<Difference>,
}

impl Collected {
    pub fn add(&mut self, target: &CaseResult, reference: &CaseResult) {
        match compare(target, reference) {
            Ok(found) => {
                self.compared += 1;
                self.cases.extend(found);
            }
            Err(why) => self.not_compared.push(why),
        }
    }

    pub fn finish(self, reference: &str) -> Differences {
        let (mut cases, mut not_compared) = (self.cases, self.not_compared);
        cases.sort_by(|a, b| a.id.cmp(&b.id));
        not_compared.sort();
        Differences {
            reference: reference.to_string(),
            compared: self.compared,
            not_compared,
            cases,
        }
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The `differences` section of summary.md (empty without a reference).
pub fn render_section(results: &Results) -> String {
    let Some(d) = &results.differences else {
        return String::new();
    };
    let mut out = format!(
        "\n## Differences from the reference\n\nReference: {}. {} cases compared, {} differ, {} not compared.\n",
        d.reference,
        d.compared,
        d.cases.len(),
        d.not_compared.len()
    );
    if !d.cases.is_empty() {
        out.push_str("\n| case | differs | target | reference |\n|---|---|---|---|\n");
        for c in &d.cases {
            let show = |s: &Side| {
                let mut text = format!("{} ({})", s.observed, s.verdict.name());
                if let (Some(detail), true) = (&s.detail, s.verdict != Verdict::Pass) {
                    let _ = write!(text, ": {detail}");
                }
                cell(&text)
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                c.id,
                c.differs.join(", "),
                show(&c.target),
                show(&c.reference)
            );
        }
    }
    if !d.not_compared.is_empty() {
        out.push_str("\nNot compared:\n\n");
        for why in &d.not_compared {
            let _ = writeln!(out, "- {}", cell(why));
        }
    }
    out
}

/// reports/<target>/oracle.md: the cases the reference contradicts. Returns how many.
pub fn write_oracle(paths: &Paths, results: &Results) -> Result<usize> {
    let contradicted: Vec<&CaseResult> = results
        .cases
        .iter()
        .filter(|c| !matches!(c.verdict, Verdict::Pass | Verdict::Skipped))
        .collect();
    let skipped = results
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Skipped)
        .count();
    let mut out = format!(
        "# Oracle check: {}\n\nThe suite's expectations checked against {} as a reference: \
         {} cases run, {} contradicted, {} not run (skipped).\n",
        results.target,
        results.run_info.endpoint,
        results.cases.len() - skipped,
        contradicted.len(),
        skipped
    );
    if !contradicted.is_empty() {
        out.push_str(
            "\nEach case below expects what the reference does not do: its expectation (or \
             the reference) needs a look.\n\n| case | verdict | expected | observed | detail |\n|---|---|---|---|---|\n",
        );
        for c in &contradicted {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                c.id,
                c.verdict.name(),
                c.expected_text(),
                cell(&c.observed_text()),
                cell(&c.first_detail())
            );
        }
    }
    let path = paths.report_dir.join("oracle.md");
    contract::files::write_atomically(&path, out.as_bytes())?;
    eprintln!(
        "wrote {} ({} contradicted expectations)",
        path.display(),
        contradicted.len()
    );
    Ok(contradicted.len())
}
