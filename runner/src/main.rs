//! `conformance`: the runner's binary (`cargo xtask run [OPTIONS] [FILTER]`). Everything
//! it does is in the library; see `runner::run` (and `runner::shards` for `merge`).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // `conformance merge <target> [FILES]`: shard results of a nextest run into one report.
    if std::env::args().nth(1).as_deref() == Some("merge") {
        return runner::shards::merge_main(std::env::args().skip(2));
    }
    let cli = match runner::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return runner::cli::usage_exit(e),
    };
    match runner::run::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
