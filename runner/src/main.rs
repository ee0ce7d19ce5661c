//! `conformance`: the runner's binary (`cargo xtask run [OPTIONS] [FILTER]`). Everything
//! it does is in the library; see `runner::run`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match runner::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match runner::run::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
