//! The runner: the cases of `generated/cases.json` sent to an S3 endpoint and judged.
//!
//! Data flows one way through its modules: `cli` (what was asked) → `run` (the run policy:
//! the target, probes, one trial per case) → `executor` (one case: setup through
//! `fixtures`, the step under test through `client`, judged by `grade`, cleanup) →
//! `reports` (results.json, summary.md, junit.xml). `embedded` is the in-process s3s-fs
//! target, also used by the tests; `shards` the nextest target's shards and their merge; `oss` the OSS dialect; `content` object bytes as
//! descriptions; `reproduce` the lines that send a deviating request again.
#![forbid(unsafe_code)]

pub mod aws_chain;
pub mod checksum;
pub mod cli;
pub mod client;
pub mod content;
pub mod differential;
pub mod embedded;
pub mod executor;
pub mod fixtures;
pub mod grade;
pub mod oss;
pub mod probe;
pub mod reports;
pub mod reproduce;
pub mod run;
pub mod shards;
pub mod streaming;
pub mod terminal;
pub mod trace;
