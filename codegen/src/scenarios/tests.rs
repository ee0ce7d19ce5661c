use super::*;

const FEATURES: &str = r#"
[features]
range = "r"
[capabilities]
versioning = "v"
"#;

const REFERENCE: &str = r#"
[[row]]
id = "R1"
operation = "UploadPartCopy"
feature = "range"
situation = "s"
aws = "a"
sources = ["doc:001"]
"#;

const GOOD: &str = r#"
family = "upload_part_copy/range"
title = "ranges"
features = ["range"]
operation = "UploadPartCopy"
setup = [
{ do = "put-object", name = "src", size = 10 },
{ do = "create-upload", name = "up" },
]
[input]
Bucket = "{up.bucket}"
Key = "{up.key}"
UploadId = "{up.id}"
PartNumber = 1
CopySource = "{src.copy_source}"

[[case]]
id = "n-${each}"
title = "part ${each}"
refs = ["R1"]
each = [1, 2]
input = { PartNumber = "${each}" }
expect.aws = { status = 200, copied = "src", error = { ArgumentValue = "${each}" }, source = "doc:001" }
"#;

fn model() -> Model {
    Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/s3.json")).unwrap()
}

fn expand_one(case_file: &str) -> Result<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("FEATURES.toml"), FEATURES).unwrap();
    std::fs::write(dir.path().join("reference.toml"), REFERENCE).unwrap();
    std::fs::create_dir_all(dir.path().join("cases")).unwrap();
    std::fs::write(dir.path().join("cases/a.toml"), case_file).unwrap();
    cases_json(&expand(dir.path(), &model())?)
}

/// One family for two operations: the op axis of an axis file gives each its family,
/// operation, setup, input and dialects.
#[test]
fn a_shared_family_expands_once_per_operation() {
    const AXES: &str = r#"
[axes]
op = [
{ id = "upc", family = "upload_part_copy", operation = "UploadPartCopy", dialects = ["aws", "oss"], size = 6291456, words = "6 MiB", setup = [{ do = "create-upload", name = "up", key = "dest" }], input = { Bucket = "{up.bucket}", Key = "{up.key}", UploadId = "{up.id}", PartNumber = 1 } },
{ id = "co", family = "copy_object", operation = "CopyObject", dialects = ["aws"], size = 10, words = "10 B", setup = [], input = { Bucket = "{bucket.name}", Key = "dest" } },
]
"#;
    const SHARED: &str = r#"
family = "${op.family}/copy-source"
shared = "copy-source"
title = "copies"
features = ["range"]
operation = "${op.operation}"
axes_from = ["ops.toml"]
cross = ["op"]
dialects = "${op.dialects}"
input = ["${op.input}", { CopySource = "{src.copy_source}" }]

[axes]
source = [{ id = "small", title = "${op.words} source", setup = [{ do = "put-object", name = "src", size = "${op.size}" }, "${op.setup}"] }]

[[case]]
id = "whole-${source.id}"
title = "whole ${source.title}"
refs = ["R1"]
cross = ["source"]
setup = "${source.setup}"
expect.aws = { status = 200, copied = "src", source = "doc:001" }
expect.oss = { status = 200, copied = "src", source = "doc:003" }
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("FEATURES.toml"), FEATURES).unwrap();
    std::fs::write(dir.path().join("reference.toml"), REFERENCE).unwrap();
    std::fs::create_dir_all(dir.path().join("cases")).unwrap();
    std::fs::create_dir_all(dir.path().join("axes")).unwrap();
    std::fs::write(dir.path().join("axes/ops.toml"), AXES).unwrap();
    std::fs::write(dir.path().join("cases/a.toml"), SHARED).unwrap();
    let cases = expand(dir.path(), &model()).unwrap();
    let ids: Vec<_> = cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "copy_object/copy-source/whole-small",
            "upload_part_copy/copy-source/whole-small"
        ]
    );
    let (co, upc) = (&cases[0], &cases[1]);
    assert_eq!(upc.shared.as_deref(), Some("copy-source/whole-small"));
    assert_eq!(co.shared, upc.shared);
    assert_eq!(
        (upc.operation.as_str(), co.operation.as_str()),
        ("UploadPartCopy", "CopyObject")
    );
    // The nested setup is joined; the op's input merged under the file's.
    assert_eq!(upc.setup.len(), 2);
    assert_eq!(co.setup.len(), 1);
    assert_eq!(upc.input["UploadId"], "{up.id}");
    assert_eq!(co.input["Bucket"], "{bucket.name}");
    assert_eq!(co.input["CopySource"], "{src.copy_source}");
    // A variable inside an axis value, whole or within text, takes the op's value.
    assert_eq!(
        (upc.title.as_str(), co.title.as_str()),
        ("whole 6 MiB source", "whole 10 B source")
    );
    let size = |c: &Case| match &c.setup[0] {
        Step::PutObject { size, .. } => *size,
        other => panic!("{other:?}"),
    };
    assert_eq!((size(upc), size(co)), (6291456, 10));
    // CopyObject is judged by aws alone.
    assert!(upc.expect.contains_key(&Dialect::Oss));
    assert!(!co.expect.contains_key(&Dialect::Oss));

    // A name both the file and its axis file define is refused.
    let twice = SHARED.replace("[axes]\n", "[axes]\nop = [{ id = \"x\" }]\n");
    std::fs::write(dir.path().join("cases/a.toml"), twice).unwrap();
    let err = format!("{:#}", expand(dir.path(), &model()).unwrap_err());
    assert!(err.contains("axis op is defined twice"), "{err}");
}

#[test]
fn each_fans_out_with_stable_ids_and_typed_inputs() {
    let text = expand_one(GOOD).unwrap();
    let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
    let ids: Vec<_> = cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["upload_part_copy/range/n-1", "upload_part_copy/range/n-2"]
    );
    // In the input the number stays a number; in expectations it is text.
    assert_eq!(cases[1].input["PartNumber"], serde_json::json!(2));
    assert_eq!(cases[1].expect[&Dialect::Aws].error["ArgumentValue"], "2");
    assert_eq!(cases[0].title, "part 1");
    // Expansion is deterministic.
    assert_eq!(text, expand_one(GOOD).unwrap());
}

fn rejects(edit: (&str, &str), message: &str) {
    let file = GOOD.replace(edit.0, edit.1);
    assert_ne!(file, GOOD, "the edit {edit:?} changed nothing");
    let err = format!("{:#}", expand_one(&file).unwrap_err());
    assert!(err.contains(message), "{edit:?}: {err}");
}

#[test]
fn a_case_without_refs_source_or_known_words_is_rejected() {
    rejects(("refs = [\"R1\"]", "refs = []"), "no refs");
    rejects(("refs = [\"R1\"]", "refs = [\"Z9\"]"), "unknown ref");
    rejects(("source = \"doc:001\"", "source = \" \""), "has no source");
    rejects(
        ("source = \"doc:001\"", "source = \"blog:x\""),
        "kind must be one of",
    );
    rejects(
        ("features = [\"range\"]", "features = [\"speed\"]"),
        "unknown feature",
    );
    rejects(
        ("expect.aws", "expect.oss"),
        "no expectation for the aws profile",
    );
    rejects(("expect.aws", "expect.gcs"), "unknown variant `gcs`");
}

#[test]
fn the_model_checks_operations_members_and_types() {
    rejects(
        (
            "operation = \"UploadPartCopy\"",
            "operation = \"UploadPartCopyX\"",
        ),
        "no operation",
    );
    rejects(
        (
            "input = { PartNumber = \"${each}\" }",
            "input = { PartNumbr = 1 }",
        ),
        "has no member PartNumbr",
    );
    rejects(
        (
            "input = { PartNumber = \"${each}\" }",
            "input = { PartNumber = \"abc\" }",
        ),
        "use `raw`",
    );
    rejects(
        (
            "copied = \"src\"",
            "output = { \"CopyPartResult.Etag\" = \"x\" }",
        ),
        "no member Etag",
    );
}

#[test]
fn placeholders_must_name_what_setup_made() {
    rejects(
        ("{src.copy_source}", "{nosuch.copy_source}"),
        "no setup step defines",
    );
    rejects(("{src.copy_source}", "{src.colour}"), "no attribute");
}

const AXES: &str = r#"
[axes]
src = [{ id = "small", size = 10 }, { id = "big", size = 6291456 }]
pos = [{ id = "first", last = 0 }]

[[case]]
id = "x-${src.id}-${pos.id}"
title = "bytes=0-${pos.last} of ${src.size} bytes"
refs = ["R1"]
cross = ["src", "pos"]
setup = [{ do = "put-object", name = "src", size = "${src.size}" }, { do = "create-upload", name = "up" }]
omit = ["PartNumber"]
input = { CopySourceRange = "bytes=0-${pos.last}" }
expect.aws = { status = 200, copied = "src[0-0]", source = "doc:001" }
"#;

#[test]
fn file_axes_cross_and_omit_removes_a_member() {
    let file = format!("{GOOD}{AXES}");
    let cases: Vec<Case> = serde_json::from_str(&expand_one(&file).unwrap()).unwrap();
    let x: Vec<&Case> = cases.iter().filter(|c| c.id.contains("/x-")).collect();
    let ids: Vec<_> = x.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "upload_part_copy/range/x-big-first",
            "upload_part_copy/range/x-small-first"
        ]
    );
    assert_eq!(x[0].title, "bytes=0-0 of 6291456 bytes");
    assert!(!x[0].input.contains_key("PartNumber"));
    assert_eq!(x[0].input["CopySourceRange"], "bytes=0-0");
    // A run-time placeholder is left for the runner.
    assert_eq!(x[0].input["UploadId"], "{up.id}");
}

#[test]
fn axes_and_variables_must_exist_and_be_used() {
    let file = format!("{GOOD}{AXES}");
    let bad = |from: &str, to: &str, message: &str| {
        let edited = file.replace(from, to);
        assert_ne!(edited, file, "{from:?} changed nothing");
        let err = format!("{:#}", expand_one(&edited).unwrap_err());
        assert!(err.contains(message), "{from:?}: {err}");
    };
    bad(
        "cross = [\"src\", \"pos\"]",
        "cross = [\"src\", \"place\"]",
        "no axis \"place\"",
    );
    bad(
        "[axes]\n",
        "[axes]\nspare = [1]\n",
        "axis spare is crossed by no case",
    );
    bad("${pos.last} of", "${post.last} of", "no variable \"post\"");
    bad(
        "omit = [\"PartNumber\"]",
        "omit = [\"Range\"]",
        "has no member Range",
    );
}

const VARIABLES: &str = r#"
[axes]
alg = [
{ id = "crc32", member = "ChecksumCRC32", header = "x-amz-checksum-crc32", other = true },
{ id = "sha1", member = "ChecksumSHA1", other = "", more = [{ do = "put-object", name = "more", size = 1 }] },
]

[[case]]
id = "v-${alg.id}"
title = "the ${alg.member} of a copy"
refs = ["R1"]
cross = ["alg"]
setup = [
{ do = "put-object", name = "src", size = 10 },
{ do = "create-upload", name = "up" },
{ when = "${alg.other}", do = "create-upload", name = "other" },
"${alg.extra}",
"${alg.more}",
]
raw = { headers = { "${alg.header}" = "v" } }
expect.aws = { status = 200, output = { "CopyPartResult.${alg.member}" = "{src.checksum_${alg.id}}" }, absent = ["CopyPartResult.${alg.member}x"], source = "doc:001" }
"#;

/// Member names from variables; steps left out by a variable without a value.
#[test]
fn variables_name_members_and_leave_steps_out() {
    let file = format!("{GOOD}{VARIABLES}").replace(
        "absent = [\"CopyPartResult.${alg.member}x\"]",
        "absent = [\"CopyPartResult.ChecksumCRC32C\"]",
    );
    let cases: Vec<Case> = serde_json::from_str(&expand_one(&file).unwrap()).unwrap();
    let case = |id: &str| cases.iter().find(|c| c.id.ends_with(id)).unwrap();
    let (crc, sha) = (case("/v-crc32"), case("/v-sha1"));
    let aws = |c: &Case| c.expect[&Dialect::Aws].clone();
    assert_eq!(
        aws(crc).output.keys().collect::<Vec<_>>(),
        ["CopyPartResult.ChecksumCRC32"]
    );
    assert_eq!(
        aws(sha).output["CopyPartResult.ChecksumSHA1"],
        "{src.checksum_sha1}"
    );
    assert_eq!(aws(sha).absent, ["CopyPartResult.ChecksumCRC32C"]);
    // A key that is one variable without a value is left out.
    assert_eq!(crc.raw.headers["x-amz-checksum-crc32"], "v");
    assert!(sha.raw.headers.is_empty());
    // `when` true keeps the step (without `when`); "" leaves it out; a missing variable
    // is no step; a list is joined.
    let names = |c: &Case| {
        c.setup
            .iter()
            .map(|s| {
                serde_json::to_value(s).unwrap()["name"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(crc), ["src", "up", "other"]);
    assert_eq!(names(sha), ["src", "up", "more"]);

    // A member a variable names is checked against the model like any other.
    let err = format!(
        "{:#}",
        expand_one(&format!("{GOOD}{VARIABLES}")).unwrap_err()
    );
    assert!(err.contains("no member ChecksumCRC32x"), "{err}");
}

/// The Complete members of setup steps are checked against the model.
#[test]
fn complete_steps_take_the_models_conditions_and_checksum_types() {
    let steps = |extra: &str| {
        GOOD.replace(
            "{ do = \"create-upload\", name = \"up\" },",
            &format!("{{ do = \"create-upload\", name = \"up\" }}, {extra},"),
        )
    };
    let good = steps(
        "{ do = \"create-upload\", name = \"c\", checksum_algorithm = \"CRC32\", checksum_type = \"FULL_OBJECT\" }, \
         { do = \"complete-upload\", upload = \"c\", if_match = \"{src.etag}\", checksum_type = \"FULL_OBJECT\", full_object_checksum = true }, \
         { do = \"put-multipart-object\", name = \"m\", parts = [10], checksum_algorithm = \"CRC32\", checksum_type = \"FULL_OBJECT\", complete = { checksum_type = \"FULL_OBJECT\", full_object_checksum = true } }",
    );
    let cases: Vec<Case> = serde_json::from_str(&expand_one(&good).unwrap()).unwrap();
    assert!(matches!(
        &cases[0].setup[3],
        Step::CompleteUpload { if_match: Some(m), full_object_checksum: true, .. } if m == "{src.etag}"
    ));
    let bad = |extra: &str, message: &str| {
        let err = format!("{:#}", expand_one(&steps(extra)).unwrap_err());
        assert!(err.contains(message), "{extra}: {err}");
    };
    bad(
        "{ do = \"complete-upload\", upload = \"up\", checksum_type = \"FULL\" }",
        "\"FULL\" is not a ChecksumType",
    );
    bad(
        "{ do = \"complete-upload\", upload = \"up\", full_object_checksum = true }",
        "the upload has no checksum_algorithm",
    );
    bad(
        "{ do = \"complete-upload\", upload = \"nope\" }",
        "no create-upload step is named nope",
    );
    bad(
        "{ do = \"complete-upload\", upload = \"up\", if_match = \"{nosuch.etag}\" }",
        "no setup step defines",
    );
    bad(
        "{ do = \"put-multipart-object\", name = \"m\", parts = [10], complete = { checksum_type = \"WHOLE\" } }",
        "\"WHOLE\" is not a ChecksumType",
    );
    bad(
        "{ do = \"put-multipart-object\", name = \"m\", parts = [10], complete = { full_object_checksum = true } }",
        "the upload has no checksum_algorithm",
    );
}

/// docs/scenarios.md is the language's reference: it names every step and attribute.
#[test]
fn the_reference_page_names_every_step_and_placeholder() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/scenarios.md"))
            .unwrap();
    // serde lists the step kinds it knows when it meets one it does not.
    let err = serde_json::from_str::<Step>(r#"{"do": "?"}"#)
        .unwrap_err()
        .to_string();
    let steps: Vec<&str> = err.split('`').skip(3).step_by(2).collect();
    assert!(steps.len() >= 10, "{err}");
    for step in steps {
        assert!(
            page.contains(&format!("`{step}`")),
            "docs/scenarios.md lacks step {step}"
        );
    }
    for kind in [
        Kind::Bucket,
        Kind::Missing,
        Kind::Sse,
        Kind::Object,
        Kind::Upload,
    ] {
        for attribute in kind.attributes() {
            assert!(
                page.contains(&format!("`{attribute}`")),
                "docs/scenarios.md lacks attribute {attribute}"
            );
        }
    }
}

#[test]
fn broken_files_are_errors_not_panics() {
    rejects(("family = ", "familie = "), "malformed scenario file");
    rejects(("size = 10", "size = \"ten\""), "malformed setup step 1");
    rejects(
        ("[[case]]", "[[case]]\nunknown_key = 1"),
        "malformed scenario file",
    );
}
