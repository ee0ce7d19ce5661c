//! The expanded case format. `cargo xtask codegen` writes it (`generated/cases.json`) from the
//! scenario files; the runner reads it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One concrete case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Stable id: `<family>/<case>`, e.g. `upload_part_copy/range/first-ten-bytes`.
    pub id: String,
    pub title: String,
    /// Rows of the behaviour reference the case covers.
    pub refs: Vec<String>,
    /// Those of its rows whose sources disagree (the reference says which side it follows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contested: Vec<String>,
    /// Words from suites/FEATURES.toml.
    pub features: Vec<String>,
    /// The opt-in feature (FEATURES.toml `opt_in = true`) that keeps the case out of a run
    /// unless it is asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_in: Option<String>,
    /// Capabilities the target must have, or the case is skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Steps run before the step under test; their failure is a harness error, not a verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<Step>,
    /// The step under test: a model operation and its input, by model member names.
    pub operation: String,
    pub input: Map<String, Value>,
    /// Changes to the built request that the model cannot express (malformed values).
    #[serde(default, skip_serializing_if = "Raw::is_empty")]
    pub raw: Raw,
    /// What each profile expects.
    pub expect: BTreeMap<crate::Dialect, Expect>,
}

/// A setup step, run with the generated operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Step {
    /// Another bucket of the case (the case always has `bucket`).
    CreateBucket {
        name: String,
    },
    EnableVersioning {
        #[serde(default = "default_bucket")]
        bucket: String,
    },
    /// An object of `size` bytes generated from its name; `key` defaults to the name.
    /// With `sse_c`, encrypted with the case's customer key (`{sse.key}`).
    PutObject {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(default = "default_bucket")]
        bucket: String,
        size: u64,
        #[serde(default, skip_serializing_if = "is_false")]
        sse_c: bool,
    },
    /// An object made by a multipart upload of parts of these sizes.
    PutMultipartObject {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(default = "default_bucket")]
        bucket: String,
        parts: Vec<u64>,
    },
    /// Deletes the current version of an object (where versioning is on, a delete marker
    /// whose id is `{name.delete_marker}`).
    DeleteObject {
        name: String,
    },
    /// CreateMultipartUpload; `key` defaults to the name. With `sse_c` the upload uses the
    /// case's customer key; with `checksum_algorithm`, that algorithm.
    CreateUpload {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(default = "default_bucket")]
        bucket: String,
        #[serde(default, skip_serializing_if = "is_false")]
        sse_c: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checksum_algorithm: Option<String>,
    },
    /// UploadPart of `size` bytes generated from the part's name.
    UploadPart {
        upload: String,
        number: i64,
        size: u64,
        name: String,
    },
    /// UploadPartCopy of an object set up earlier (or a range of it); the part is named
    /// like an object so that expectations can name its bytes.
    CopyPart {
        upload: String,
        number: i64,
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range: Option<String>,
        name: String,
    },
    CompleteUpload {
        upload: String,
    },
    AbortUpload {
        upload: String,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn default_bucket() -> String {
    "bucket".to_string()
}

/// Raw changes applied to the request after it is built from the input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_headers: Vec<String>,
    /// How the request is signed, when not normally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<Signing>,
}

/// Signing faults for the authentication cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Signing {
    /// No Authorization at all: an anonymous request.
    Unsigned,
    /// Signed with a secret key that is not the account's.
    WrongSecret,
    /// Signed, then this header added: sent but not covered by the signature.
    HeaderNotSigned(String),
}

impl Raw {
    pub fn is_empty(&self) -> bool {
        self.query.is_empty()
            && self.headers.is_empty()
            && self.remove_headers.is_empty()
            && self.signing.is_none()
    }
}

/// What a profile expects of the step under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: u16,
    /// The S3 error code, for an error status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The error message; a different message is noted, it does not change the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields of the error body (`ArgumentName`, `Condition`, ...), values may hold placeholders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error: BTreeMap<String, String>,
    /// Members of the output, by dotted model member path (`CopyPartResult.ETag`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output: BTreeMap<String, String>,
    /// For a part copy: the bytes the part must hold (`src`, `src[0-9]`). The part ETag
    /// must be their MD5, and the upload, completed with this part, must read back as them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied: Option<String>,
    /// With `copied`: the checksum algorithm (CRC32, CRC32C, SHA1, SHA256) whose value of the
    /// copied bytes `CopyPartResult` must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Response headers that must be there / must not be there (names, any case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub present_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent_headers: Vec<String>,
    /// Output members that must be present, by dotted model member path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub present: Vec<String>,
    /// For a read (GetObject): the bytes the body must hold, as a selector (`src[0-9]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// For a Complete: the bytes the object must hold, as named parts (`p1+p2`); the ETag
    /// must be the multipart ETag of those parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<String>,
    /// Other outcomes tolerated: graded `pass-alternative`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
    /// Where the expectation comes from (`doc:001`, `aws-observed:…`, `suite:…`).
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub why: String,
}
