//! Grading: what came back, against what the profile expects.

use contract::results::Observed;
use contract::{Expect, Verdict};

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
            completed: None,
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
