//! The two dialects the suite speaks and judges by.

use serde::{Deserialize, Serialize};

/// A profile: how requests are sent (header names, signature) and which expectations
/// judge the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// Amazon S3, as observed where that differs from the docs.
    Aws,
    /// The Alibaba Cloud OSS dialect: `x-oss-` headers, the OSS header signature.
    Oss,
}

impl Dialect {
    pub const ALL: [Dialect; 2] = [Dialect::Aws, Dialect::Oss];

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Aws => "aws",
            Dialect::Oss => "oss",
        }
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown dialect {s:?} (known: aws, oss)"))
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
