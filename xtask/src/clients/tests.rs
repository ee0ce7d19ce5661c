use super::*;

#[test]
fn every_flow_has_its_program_and_a_unique_id() {
    let root = crate::root();
    for (i, f) in FLOWS.iter().enumerate() {
        assert!(!FLOWS[..i].iter().any(|g| g.id == f.id), "{} twice", f.id);
        assert!(f.id.ends_with(&format!("/{}", f.arg)), "{}", f.id);
        let folder = match f.client {
            Client::AwsCli => "awscli",
            other => other.name(),
        };
        let dir = root.join("clients").join(folder);
        assert!(dir.is_dir(), "{} has no {}", f.id, dir.display());
    }
}

#[test]
fn deviations_are_linked_by_request_shape_and_failed_step() {
    let deviations = Deviations {
        cases: vec![
            (
                "upload_part_copy/preconditions/if-match-stale".into(),
                "silent-accept".into(),
            ),
            ("multipart/create/sse-c".into(), "wrong-status".into()),
            ("multipart/abort/unknown".into(), "wrong-code".into()),
        ],
        source: None,
    };
    let flow = FLOWS.iter().find(|f| f.id == "aws-cli/part-copy").unwrap();
    let linked = linked(flow, Some("upload-part-copy"), &deviations);
    let cases: Vec<(&str, bool)> = linked
        .iter()
        .map(|l| (l.case.as_str(), l.at_failed_step))
        .collect();
    assert_eq!(
        cases,
        [
            ("multipart/create/sse-c", false),
            ("upload_part_copy/preconditions/if-match-stale", true)
        ]
    );
}
