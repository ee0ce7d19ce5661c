//! junit.xml: the run as CI test reports show it. One testsuite per target and profile,
//! one testcase per case (name = case id, classname = its first feature).
//!
//! Passes are successes; a deviation the baseline lists with the same verdict is skipped
//! with the baseline's reason (it is known, so CI should not go red on it); a `skipped`
//! case is skipped with its reason; every other deviation is a failure. No times or
//! timestamps, so the file is as stable as results.json and diffs cleanly.

use anyhow::Result;
use contract::baseline::Baseline;
use contract::results::status_code;
use contract::results::CaseResult;
use contract::results::Results;
use contract::Verdict;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

pub fn render(results: &Results, baseline: &Baseline) -> Result<String> {
    let mut suite = TestSuite::new(format!("{}/{}", results.target, results.profile));
    suite.add_properties([
        Property::new("target", results.target.as_str()),
        Property::new("profile", results.profile.name()),
        Property::new("capabilities", results.capabilities.join(",")),
    ]);
    // Cases a Ctrl-C kept from starting are `skipped`; say why the run is short.
    if results.run_info.interrupted {
        suite.add_property(Property::new("interrupted", "true"));
    }
    suite.add_test_cases(results.cases.iter().map(|c| test_case(c, baseline)));
    let mut report = Report::new("multipart-copy conformance");
    report.add_test_suite(suite);
    Ok(report.to_string()?)
}

fn test_case(case: &CaseResult, baseline: &Baseline) -> TestCase {
    let known = baseline.get(&case.id).filter(|d| d.verdict == case.verdict);
    let status = match (case.verdict, known) {
        (Verdict::Pass | Verdict::PassAlternative, _) => TestCaseStatus::success(),
        (Verdict::Skipped, _) => {
            let mut s = TestCaseStatus::skipped();
            s.set_type("skipped")
                .set_message(first_detail(case).unwrap_or_else(|| "skipped".into()));
            s
        }
        (verdict, Some(known)) => {
            let mut s = TestCaseStatus::skipped();
            s.set_type(format!("known {verdict}"))
                .set_message(known.reason.as_str())
                .set_description(format!("{}\n{}", failure_message(case), description(case)));
            s
        }
        (verdict, None) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type(verdict.name())
                .set_message(failure_message(case));
            let mut text = description(case);
            // Listed with another verdict: say so, since the fix may be the baseline line.
            if let Some(listed) = baseline.get(&case.id) {
                text.push_str(&format!(
                    "\nbaseline lists it as {}: {}",
                    listed.verdict, listed.reason
                ));
            }
            s.set_description(text);
            s
        }
    };
    let mut test_case = TestCase::new(case.id.as_str(), status);
    test_case.set_classname(case.features.first().map(String::as_str).unwrap_or(""));
    test_case
}

/// `<verdict>: expected <status code>, observed <status code>`.
pub fn failure_message(case: &CaseResult) -> String {
    let observed = case.observed.as_ref();
    format!(
        "{}: expected {}, observed {}",
        case.verdict,
        case.expected_text(),
        status_code(
            observed.map(|o| o.status),
            observed.and_then(|o| o.code.as_deref())
        ),
    )
}

/// The details, notes and source: what a reader needs without opening results.json.
fn description(case: &CaseResult) -> String {
    let mut lines = vec![format!("{} ({})", case.title, case.refs.join(", "))];
    if let Some(message) = case.observed.as_ref().and_then(|o| o.message.as_ref()) {
        lines.push(format!("observed message: {message}"));
    }
    lines.extend(case.details.iter().cloned());
    lines.extend(case.notes.iter().map(|n| format!("note: {n}")));
    lines.push(format!("source: {}", case.source));
    lines.join("\n")
}

fn first_detail(case: &CaseResult) -> Option<String> {
    case.details.first().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::baseline::Deviation;
    use contract::results::Observed;

    fn case(id: &str, verdict: Verdict, observed: Option<(u16, Option<&str>)>) -> CaseResult {
        CaseResult {
            features: vec!["range".into(), "error-codes".into()],
            observed: observed.map(|(status, code)| Observed {
                status,
                code: code.map(Into::into),
                message: None,
            }),
            details: vec![format!("detail of {id}")],
            ..contract::results::sample::case(id, verdict)
        }
    }

    fn results(cases: Vec<CaseResult>) -> Results {
        contract::results::sample::results("t", cases)
    }

    fn deviation(case: &str, verdict: Verdict) -> Deviation {
        Deviation {
            case: case.into(),
            verdict,
            reason: format!("reason for {case}"),
            link: None,
        }
    }

    #[test]
    fn verdicts_map_to_success_skipped_and_failure() {
        let results = results(vec![
            case(
                "a/pass",
                Verdict::Pass,
                Some((400, Some("InvalidArgument"))),
            ),
            case("b/alt", Verdict::PassAlternative, Some((416, None))),
            case("c/known", Verdict::SilentAccept, Some((200, None))),
            case(
                "d/new",
                Verdict::WrongCode,
                Some((400, Some("InvalidRange"))),
            ),
            case("e/other-verdict", Verdict::WrongStatus, Some((416, None))),
            case("f/skipped", Verdict::Skipped, None),
            case("g/harness", Verdict::HarnessError, None),
        ]);
        let baseline = Baseline {
            deviations: vec![
                deviation("c/known", Verdict::SilentAccept),
                deviation("e/other-verdict", Verdict::WrongCode),
            ],
            skips: vec![],
        };
        let xml = render(&results, &baseline).unwrap();
        let report = Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(
            (report.tests, report.failures, report.skipped, report.errors),
            (7, 3, 2, 0)
        );
        let suite = &report.test_suites[0];
        assert_eq!(suite.name.as_str(), "t/aws");
        let status = |id: &str| {
            let c = suite
                .test_cases
                .iter()
                .find(|c| c.name.as_str() == id)
                .unwrap();
            assert_eq!(c.classname.as_ref().unwrap().as_str(), "range");
            c.status.clone()
        };
        assert!(matches!(status("a/pass"), TestCaseStatus::Success { .. }));
        assert!(matches!(status("b/alt"), TestCaseStatus::Success { .. }));
        match status("c/known") {
            TestCaseStatus::Skipped { message, .. } => {
                assert_eq!(message.unwrap().as_str(), "reason for c/known")
            }
            other => panic!("{other:?}"),
        }
        match status("d/new") {
            TestCaseStatus::NonSuccess {
                message,
                description,
                ..
            } => {
                assert_eq!(
                    message.unwrap().as_str(),
                    "wrong-code: expected 400 InvalidArgument, observed 400 InvalidRange"
                );
                let text = description.unwrap();
                assert!(text.as_str().contains("detail of d/new"), "{text:?}");
                assert!(text.as_str().contains("source: doc:001"), "{text:?}");
            }
            other => panic!("{other:?}"),
        }
        match status("e/other-verdict") {
            TestCaseStatus::NonSuccess { description, .. } => assert!(description
                .unwrap()
                .as_str()
                .contains("baseline lists it as wrong-code")),
            other => panic!("{other:?}"),
        }
        match status("f/skipped") {
            TestCaseStatus::Skipped { message, .. } => {
                assert_eq!(message.unwrap().as_str(), "detail of f/skipped")
            }
            other => panic!("{other:?}"),
        }
        match status("g/harness") {
            TestCaseStatus::NonSuccess { message, .. } => assert_eq!(
                message.unwrap().as_str(),
                "harness-error: expected 400 InvalidArgument, observed nothing"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_same_results_render_the_same_bytes() {
        let r = results(vec![case("a/b", Verdict::WrongStatus, Some((416, None)))]);
        let baseline = Baseline::default();
        assert_eq!(
            render(&r, &baseline).unwrap(),
            render(&r, &baseline).unwrap()
        );
    }
}
