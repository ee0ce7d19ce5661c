//! `suites/reference.toml`: the behaviour reference. One record per row: the situation,
//! what the `aws` and `oss` profiles expect, the sources with their dates, and where the
//! sources disagree. Cases name the rows they cover; codegen checks them against it and
//! renders it to `docs/reference.md`. The recordings of AWS that sources cite are listed
//! once, with their dates, so a citation whose test or date is wrong is refused.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    #[serde(rename = "recording", default)]
    pub recordings: Vec<Recording>,
    #[serde(rename = "row")]
    pub rows: Vec<Row>,
}

/// A test of LocalStack's AWS-validated snapshot suite whose recorded answers from AWS a
/// source cites: `aws-observed:<file>::<Class>::<test> (recorded <date>)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// `test_s3_api.py::TestS3Multipart::test_upload_part_copy_range`.
    pub test: String,
    /// The snapshot's recorded date, `YYYY-MM-DD`.
    pub recorded: String,
    /// Anything a reader should know (an orphaned snapshot, the operation it was made for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// `R1`, `C7`, `M11`: what cases name in `refs`.
    pub id: String,
    /// The operations the row is about, as the model names them: one name, or a list for
    /// a behaviour several operations share (`["UploadPartCopy", "CopyObject"]`).
    #[serde(rename = "operation", with = "one_or_many")]
    pub operations: Vec<String>,
    /// The feature of FEATURES.toml the page files the row under.
    pub feature: String,
    pub situation: String,
    /// What the aws profile expects.
    pub aws: String,
    /// What the oss profile expects, where OSS documents it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oss: Option<String>,
    /// Citations, each in the citation grammar (see [`Citation`]).
    pub sources: Vec<String>,
    /// Where sources disagree: what each other side says, and its source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contested: Vec<Side>,
    /// With `contested`: which side each profile follows, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows: Option<String>,
    /// Why no case covers the row, when none does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncovered: Option<String>,
}

/// `operation = "X"` or `operation = ["X", "Y"]`; written back as a name when there is one.
mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize, Serialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub fn serialize<S: Serializer>(names: &[String], s: S) -> Result<S::Ok, S::Error> {
        match names {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        match OneOrMany::deserialize(d)? {
            OneOrMany::One(name) => Ok(vec![name]),
            OneOrMany::Many(names) if names.is_empty() => Err(serde::de::Error::custom(
                "a row names at least one operation",
            )),
            OneOrMany::Many(names) => Ok(names),
        }
    }
}

/// One side of a contested row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Side {
    pub says: String,
    pub source: String,
}

/// The kinds of source a citation may name, strongest first.
pub const KINDS: &[(&str, &str)] = &[
    (
        "aws-observed",
        "AWS's answer as recorded by LocalStack's AWS-validated snapshot tests",
    ),
    (
        "doc",
        "an AWS or Alibaba document: a seed the project comes from (doc:000 to doc:004), or an AWS documentation page named by its title",
    ),
    ("model", "the S3 Smithy model, its shapes and documentation"),
    (
        "oss-observed",
        "real OSS's answer as asserted by Alibaba's SDK integration tests",
    ),
    ("suite", "ceph/s3-tests (s3tests/functional/test_s3.py)"),
    ("versitygw", "versity/versitygw's integration tests"),
    ("issue", "a vendor's issue quoting what AWS answered"),
];

/// One citation: `kind:detail`, e.g. `doc:001 (x-amz-copy-source-range)`,
/// `aws-observed:test_s3_api.py::TestS3Multipart::test_upload_part_copy_range (recorded 2026-02-21)`,
/// `suite:test_multipart_copy_invalid_range`; `model (…)` needs no detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation<'a> {
    pub kind: &'a str,
    pub detail: &'a str,
}

impl<'a> Citation<'a> {
    pub fn parse(text: &'a str) -> Result<Citation<'a>> {
        let text = text.trim();
        let (kind, detail) = match text.split_once(':') {
            Some((k, d)) if !k.contains([' ', '(']) => (k, d.trim()),
            _ => (text.split([' ', '(']).next().unwrap_or(text), ""),
        };
        if !KINDS.iter().any(|(k, _)| *k == kind) {
            bail!(
                "citation {text:?}: the kind must be one of {}",
                KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            );
        }
        if detail.is_empty() && kind != "model" {
            bail!("citation {text:?} names nothing after {kind}:");
        }
        Ok(Citation { kind, detail })
    }

    /// For `aws-observed`: the test and the recorded date it gives.
    pub fn recording(&self) -> Result<Option<(&'a str, &'a str)>> {
        if self.kind != "aws-observed" {
            return Ok(None);
        }
        let (test, rest) = self
            .detail
            .split_once(" (recorded ")
            .with_context(|| {
                format!(
                    "aws-observed:{}: say which test and when: `<file>::<Class>::<test> (recorded YYYY-MM-DD)`",
                    self.detail
                )
            })?;
        let date = rest.get(..10).unwrap_or(rest);
        Ok(Some((test.trim(), date)))
    }
}

/// A source is one citation or several separated by `; `.
pub fn citations(source: &str) -> Result<Vec<Citation<'_>>> {
    source
        .split("; ")
        .filter(|s| !s.trim().is_empty())
        .map(Citation::parse)
        .collect()
}

impl Reference {
    pub fn load(path: &Path) -> Result<Reference> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let reference: Reference =
            toml::from_str(&text).with_context(|| format!("malformed {}", path.display()))?;
        reference
            .check()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(reference)
    }

    pub fn row(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.id == id)
    }

    /// Every source follows the grammar, every aws-observed one names a listed recording
    /// with its date, and no row or recording is there twice.
    pub fn check(&self) -> Result<()> {
        let mut ids = BTreeSet::new();
        for row in &self.rows {
            if !ids.insert(&row.id) {
                bail!("row {} is there twice", row.id);
            }
            if row.sources.is_empty() {
                bail!("row {} has no source", row.id);
            }
            // The secondary rule looks at a row's sources together: one secondary source
            // beside a primary one needs no mark.
            self.check_source(&row.sources.join("; "))
                .with_context(|| format!("row {}", row.id))?;
            for side in &row.contested {
                self.check_citations(&side.source)
                    .with_context(|| format!("row {}", row.id))?;
            }
            if !row.contested.is_empty() && row.follows.is_none() {
                bail!(
                    "row {} is contested but says not which side it follows",
                    row.id
                );
            }
        }
        let mut tests = BTreeSet::new();
        for r in &self.recordings {
            if !tests.insert(&r.test) {
                bail!("recording {} is there twice", r.test);
            }
        }
        Ok(())
    }

    /// Checks one source string (a row's or a case's): its citations, and that a single
    /// secondary source says so.
    pub fn check_source(&self, source: &str) -> Result<()> {
        let cited = self.check_citations(source)?;
        // A single secondary source (another vendor's tests or issue) says that it is one.
        let secondary = |c: &Citation| matches!(c.kind, "versitygw" | "issue");
        if cited.iter().all(secondary) && !source.contains("(secondary)") {
            bail!("{source:?} rests on a single secondary source: mark it `(secondary)`");
        }
        Ok(())
    }

    /// The citations of a source, each following the grammar, every aws-observed one naming
    /// a listed recording with its date.
    pub fn check_citations<'s>(&self, source: &'s str) -> Result<Vec<Citation<'s>>> {
        let cited = citations(source)?;
        if cited.is_empty() {
            bail!("the source is empty");
        }
        for c in &cited {
            if let Some((test, date)) = c.recording()? {
                let recording = self
                    .recordings
                    .iter()
                    .find(|r| r.test == test)
                    .with_context(|| format!("aws-observed:{test} is not a listed recording"))?;
                if recording.recorded != date {
                    bail!(
                        "aws-observed:{test} was recorded {}, not {date}",
                        recording.recorded
                    );
                }
            }
        }
        Ok(cited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Reference {
        toml::from_str(
            r#"
[[recording]]
test = "test_s3_api.py::TestS3Multipart::test_upload_part_copy_range"
recorded = "2026-02-21"

[[row]]
id = "R1"
operation = "UploadPartCopy"
feature = "range"
situation = "bytes=0-9"
aws = "200"
sources = ["doc:001", "aws-observed:test_s3_api.py::TestS3Multipart::test_upload_part_copy_range (recorded 2026-02-21)"]
"#,
        )
        .unwrap()
    }

    #[test]
    fn sources_follow_the_grammar_and_name_listed_recordings() {
        let r = reference();
        r.check().unwrap();
        assert!(r.check_source("doc:001 (ranges); suite:test_x").is_ok());
        assert!(r.check_source("model (ListPartsResult Part)").is_ok());
        let err = |s: &str| format!("{:#}", r.check_source(s).unwrap_err());
        assert!(err("blog:x").contains("kind must be one of"));
        assert!(
            err("aws-observed:test_s3_api.py::TestS3Multipart").contains("say which test and when")
        );
        assert!(err("aws-observed:test_s3_api.py::TestS3Multipart::test_upload_part_copy_range (recorded 2025-06-13)")
            .contains("was recorded 2026-02-21"));
        assert!(
            err("aws-observed:test_s3.py::TestS3::nope (recorded 2026-02-21)")
                .contains("not a listed recording")
        );
        assert!(err("versitygw:TestX").contains("single secondary source"));
        assert!(r.check_source("versitygw:TestX (secondary)").is_ok());
    }
}
