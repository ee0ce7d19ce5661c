//! reports/<target>/clients.json: what real S3 clients did against a target (written by
//! `cargo xtask clients`), and its section of summary.md and cells of the matrix. Shared
//! here so that the runner (which rewrites summary.md) and xtask render it alike.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub target: String,
    pub run_info: RunInfo,
    pub flows: Vec<FlowResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    pub started_at: String,
    /// Client name -> the version that ran.
    pub clients: BTreeMap<String, String>,
    /// The results.json the deviations were linked from.
    pub results_json: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Works,
    Fails,
    /// The client could not be installed here (the error says why).
    NotRun,
}

impl Outcome {
    pub fn line(&self) -> &'static str {
        match self {
            Outcome::Works => "works",
            Outcome::Fails => "fails",
            Outcome::NotRun => "not run",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowResult {
    /// `client/flow`, e.g. `boto3/copy`.
    pub id: String,
    pub client: String,
    pub what: String,
    pub version: Option<String>,
    pub outcome: Outcome,
    /// The step that failed (`read-back`: the copy holds other bytes than were copied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The failing request as sent (signature and keys redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The server's answer to it: status, and the start of its body when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The steps the flow ran, in order.
    pub steps: Vec<String>,
    /// Deviations of this target's cases with the request shape of one of the flow's steps.
    pub linked: Vec<Linked>,
    /// Set when the failure is the client's own bug, not the server's: why, with the
    /// upstream issue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_bug: Option<String>,
    /// What cleanup could not remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Linked {
    pub case: String,
    pub verdict: String,
    pub step: String,
    /// The flow failed at this step.
    pub at_failed_step: bool,
}

/// A step as a flow reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub code: Option<String>,
}

/// One HTTP exchange as a flow recorded it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Exchange {
    #[serde(default)]
    pub step: Option<String>,
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub body: Option<String>,
}

/// Headers whose values are secrets or signatures: never written.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-security-token",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-key",
    "x-amz-content-sha256-signature",
];

impl Exchange {
    /// The same with secret header values replaced and signed query parameters cut.
    pub fn redacted(mut self) -> Exchange {
        for (name, value) in &mut self.headers {
            if SECRET_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                *value = "(redacted)".into();
            }
        }
        if let Some(q) = &self.query {
            let kept: Vec<&str> = q
                .split('&')
                .filter(|p| {
                    let name = p.split('=').next().unwrap_or_default().to_ascii_lowercase();
                    !matches!(
                        name.as_str(),
                        "x-amz-signature" | "x-amz-credential" | "x-amz-security-token"
                    )
                })
                .collect();
            self.query = Some(kept.join("&"));
        }
        self
    }

    /// `METHOD /path?query` and the headers, one a line (redact first).
    pub fn request_line(&self) -> String {
        let mut out = self.method.clone() + " " + &self.path;
        if let Some(q) = self.query.as_deref().filter(|q| !q.is_empty()) {
            out.push('?');
            out.push_str(q);
        }
        for (name, value) in &self.headers {
            out.push_str(&format!("\n{name}: {value}"));
        }
        out
    }

    pub fn answer(&self) -> Option<String> {
        let status = self.status?;
        Some(match &self.body {
            Some(body) if !body.is_empty() => format!("HTTP {status}\n{body}"),
            _ => format!("HTTP {status}"),
        })
    }
}

pub const SECTION_START: &str =
    "<!-- clients: written from clients.json by cargo xtask clients -->";
pub const SECTION_END: &str = "<!-- end of clients -->";

/// summary.md's clients section.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(SECTION_START);
    out.push_str("\n## Clients\n\n");
    out.push_str(&format!(
        "Real clients run against this target by `cargo xtask clients` ({}); each copy read back with the harness's client. Details: [clients.json](clients.json).\n\n",
        report.run_info.started_at
    ));
    out.push_str("| flow | version | outcome | failed step: answer | linked deviations |\n");
    out.push_str("|---|---|---|---|---|\n");
    for f in &report.flows {
        let outcome = match (f.outcome, &f.client_bug) {
            (Outcome::Fails, Some(_)) => "fails (client bug)".to_string(),
            (o, _) => o.line().to_string(),
        };
        let failure = match f.outcome {
            Outcome::Works => String::new(),
            _ => {
                let mut s = f.step.clone().unwrap_or_default();
                if let Some(status) = f.status {
                    s.push_str(&format!(": {status}"));
                }
                if let Some(code) = &f.code {
                    s.push_str(&format!(" {code}"));
                }
                if let Some(e) = &f.error {
                    s.push_str(&format!(" — {}", short(e, 160)));
                }
                if let Some(bug) = &f.client_bug {
                    s.push_str(&format!(" ({})", short(bug, 200)));
                }
                s
            }
        };
        let at_fault: Vec<String> = f
            .linked
            .iter()
            .filter(|l| l.at_failed_step)
            .map(|l| format!("`{}` {}", l.case, l.verdict))
            .collect();
        let linked = if !at_fault.is_empty() {
            short(&at_fault.join(", "), 400)
        } else if f.linked.is_empty() {
            String::new()
        } else {
            // Deviations that did not stop this flow (e.g. an ignored precondition).
            format!(
                "{} deviating cases of the same request shape",
                f.linked.len()
            )
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            f.id,
            cell(f.version.as_deref().unwrap_or("")),
            outcome,
            cell(&failure),
            cell(&linked)
        ));
    }
    out.push('\n');
    out.push_str(SECTION_END);
    out.push('\n');
    out
}

fn short(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= n {
        one
    } else {
        one.chars().take(n).collect::<String>() + "…"
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `summary` with its clients section replaced by `section` (appended when it has none).
pub fn with_section(summary: &str, section: &str) -> String {
    if let (Some(start), Some(end)) = (summary.find(SECTION_START), summary.find(SECTION_END)) {
        if start < end {
            let after = &summary[end + SECTION_END.len()..];
            let after = after.strip_prefix('\n').unwrap_or(after);
            return format!("{}{}{}", &summary[..start], section, after);
        }
    }
    let mut out = summary.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    out.push_str(section);
    out
}

/// `summary` without its clients section: what the runner's run alone wrote (the
/// snapshot tests compare that).
pub fn without_section(summary: &str) -> String {
    match (summary.find(SECTION_START), summary.find(SECTION_END)) {
        (Some(start), Some(end)) if start < end => {
            let before = summary[..start]
                .strip_suffix('\n')
                .unwrap_or(&summary[..start]);
            let after = &summary[end + SECTION_END.len()..];
            format!("{before}{}", after.strip_prefix('\n').unwrap_or(after))
        }
        _ => summary.to_string(),
    }
}

/// The matrix's clients cells: (flow id, `works` / `fails: step` / `not run`).
pub fn matrix_cells(report: &Report) -> Vec<(String, String)> {
    report
        .flows
        .iter()
        .map(|f| {
            let text = match f.outcome {
                Outcome::Works => "works".to_string(),
                Outcome::NotRun => "not run".to_string(),
                Outcome::Fails if f.client_bug.is_some() => {
                    format!("fails: {} (client bug)", f.step.as_deref().unwrap_or("?"))
                }
                Outcome::Fails => format!("fails: {}", f.step.as_deref().unwrap_or("?")),
            };
            (f.id.clone(), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            target: "t".into(),
            run_info: RunInfo {
                started_at: "now".into(),
                clients: BTreeMap::new(),
                results_json: None,
            },
            flows: vec![FlowResult {
                id: "boto3/copy".into(),
                client: "boto3".into(),
                what: "copy".into(),
                version: Some("1".into()),
                outcome: Outcome::Fails,
                step: Some("copy".into()),
                error: Some("a | b".into()),
                status: Some(400),
                code: Some("InvalidRequest".into()),
                request: None,
                answer: None,
                steps: vec![],
                linked: vec![],
                client_bug: None,
                cleanup: vec![],
            }],
        }
    }

    #[test]
    fn the_section_is_replaced_not_added_again() {
        let section = render(&report());
        let once = with_section("# Summary\n\ntext\n", &section);
        let twice = with_section(&once, &section);
        assert_eq!(once, twice);
        assert_eq!(without_section(&once), "# Summary\n\ntext\n");
        assert!(once.starts_with("# Summary\n\ntext\n\n<!-- clients"));
        assert!(once.contains("| `boto3/copy` | 1 | fails | copy: 400 InvalidRequest — a \\| b |"));
        assert_eq!(matrix_cells(&report())[0].1, "fails: copy");
    }

    #[test]
    fn secrets_are_redacted() {
        let x = Exchange {
            method: "PUT".into(),
            path: "/b/k".into(),
            query: Some("partNumber=1&X-Amz-Signature=abc".into()),
            headers: vec![
                (
                    "Authorization".into(),
                    "AWS4-HMAC-SHA256 Signature=abc".into(),
                ),
                ("x-amz-copy-source-if-match".into(), "\"e\"".into()),
            ],
            ..Default::default()
        }
        .redacted();
        let line = x.request_line();
        assert!(!line.contains("abc"), "{line}");
        assert!(line.contains("x-amz-copy-source-if-match: \"e\""));
    }
}
