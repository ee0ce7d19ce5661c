//! Grading: what came back, against what the profile expects; and the grade of a step
//! (setup, a check, cleanup) whose answer was not what AWS gives.

use crate::client::TransportError;
use contract::results::Observed;
use contract::{Expect, Verdict};
use wire::ResponseError;

/// A step the server answered otherwise than AWS does: a refusal, a server error, an
/// answer that cannot be read or lacks what it must carry. The case takes its grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFault {
    pub verdict: Verdict,
    pub message: String,
}

impl std::fmt::Display for StepFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StepFault {}

impl StepFault {
    /// `operation` answered with an error or an unreadable body.
    pub fn answer(operation: &str, error: &ResponseError) -> StepFault {
        match error {
            ResponseError::Service(e) => {
                let verdict = if e.status == 501 || e.code == "NotImplemented" {
                    Verdict::NotImplemented
                } else if e.status >= 500 || e.code == "InternalError" {
                    Verdict::ServerError
                } else {
                    Verdict::Rejected
                };
                StepFault {
                    verdict,
                    message: format!("{operation} answered {error}"),
                }
            }
            ResponseError::Malformed(m) => StepFault {
                verdict: Verdict::WrongMetadata,
                message: format!("{operation}: the answer cannot be read: {m}"),
            },
        }
    }

    /// A successful answer that lacks what the next steps need.
    pub fn missing(what: impl std::fmt::Display) -> StepFault {
        StepFault {
            verdict: Verdict::WrongMetadata,
            message: what.to_string(),
        }
    }
}

/// The grade of a case that stopped on this error: the server's, when a step's answer
/// caused it; `harness-error` for a transport fault or the harness's own failure.
pub fn failure_verdict(error: &anyhow::Error) -> Verdict {
    error
        .chain()
        .find_map(|c| c.downcast_ref::<StepFault>())
        .map_or(Verdict::HarnessError, |f| f.verdict)
}

/// Whether the error says no one answered at all (refused, timed out).
pub fn unreachable(error: &anyhow::Error) -> bool {
    error.chain().any(|c| {
        c.downcast_ref::<TransportError>()
            .is_some_and(|t| t.unreachable)
    })
}

fn is_success(status: u16, code: &Option<String>) -> bool {
    (200..300).contains(&status) && code.is_none()
}

/// The verdict of the status and code alone (data checks come after, on a pass).
pub fn grade(expect: &Expect, observed: &Observed) -> Verdict {
    let expected_ok = (200..300).contains(&expect.status);
    let observed_ok = is_success(observed.status, &observed.code);
    let code_matches = |want: &Option<String>| want.is_none() || *want == observed.code;
    if expected_ok == observed_ok && observed.status == expect.status && code_matches(&expect.code)
    {
        return Verdict::Pass;
    }
    if expect.alternatives.iter().any(|a| {
        observed.status == a.status
            && code_matches(&a.code)
            && (a.code.is_some() || observed_ok == (200..300).contains(&a.status))
    }) {
        return Verdict::PassAlternative;
    }
    if observed.status == 501 || observed.code.as_deref() == Some("NotImplemented") {
        return Verdict::NotImplemented;
    }
    // A 200 whose body is `<Error><Code>InternalError…` is a server error sent late.
    if observed.status >= 500 || observed.code.as_deref() == Some("InternalError") {
        return Verdict::ServerError;
    }
    match (expected_ok, observed_ok) {
        (true, false) => Verdict::Rejected,
        (false, true) => Verdict::SilentAccept,
        (false, false) if observed.status == expect.status => Verdict::WrongCode,
        _ => Verdict::WrongStatus,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::Alternative;

    fn expect(status: u16, code: Option<&str>) -> Expect {
        Expect {
            status,
            code: code.map(str::to_string),
            message: None,
            error: Default::default(),
            output: Default::default(),
            copied: None,
            checksum: None,
            present: vec![],
            present_headers: vec![],
            absent_headers: vec![],
            body: None,
            uploaded: None,
            completed: None,
            stored: None,
            alternatives: vec![],
            source: "test".into(),
            note: None,
        }
    }

    fn seen(status: u16, code: Option<&str>) -> Observed {
        Observed {
            status,
            code: code.map(str::to_string),
            message: None,
        }
    }

    #[test]
    fn every_verdict_of_the_table() {
        let e400 = expect(400, Some("InvalidArgument"));
        let e200 = expect(200, None);
        assert_eq!(grade(&e200, &seen(200, None)), Verdict::Pass);
        assert_eq!(
            grade(&e400, &seen(400, Some("InvalidArgument"))),
            Verdict::Pass
        );
        assert_eq!(
            grade(&e400, &seen(400, Some("InvalidRange"))),
            Verdict::WrongCode
        );
        assert_eq!(
            grade(&e400, &seen(416, Some("InvalidRange"))),
            Verdict::WrongStatus
        );
        assert_eq!(
            grade(&e200, &seen(400, Some("InvalidArgument"))),
            Verdict::Rejected
        );
        assert_eq!(grade(&e400, &seen(200, None)), Verdict::SilentAccept);
        assert_eq!(
            grade(&e400, &seen(500, Some("InternalError"))),
            Verdict::ServerError
        );
        assert_eq!(
            grade(&e200, &seen(501, Some("NotImplemented"))),
            Verdict::NotImplemented
        );
        assert_eq!(
            grade(&e400, &seen(400, Some("NotImplemented"))),
            Verdict::NotImplemented
        );
    }

    #[test]
    fn a_200_with_an_error_body_is_not_a_success() {
        let e200 = expect(200, None);
        assert_eq!(
            grade(&e200, &seen(200, Some("InternalError"))),
            Verdict::ServerError
        );
        assert_eq!(
            grade(&e200, &seen(200, Some("SlowDown"))),
            Verdict::Rejected
        );
    }

    #[test]
    fn alternatives_are_graded_apart() {
        let mut e = expect(412, Some("PreconditionFailed"));
        e.alternatives.push(Alternative {
            status: 304,
            code: None,
            why: "test".into(),
        });
        assert_eq!(
            grade(&e, &seen(304, Some("NotModified"))),
            Verdict::PassAlternative
        );
        assert_eq!(grade(&e, &seen(200, None)), Verdict::SilentAccept);
    }
}
