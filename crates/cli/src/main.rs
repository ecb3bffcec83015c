//! `cairn`: the Cairn command-line tool.
//!
//! `cairn scenario run FILE [--quiet]` runs a scenario file, prints its JSON report to stdout and
//! a one-line summary to stderr. Exit status: 0 when every step passed, 1 when a step failed,
//! 2 when the file could not be read or does not match the format (or on a usage error).
#![forbid(unsafe_code)]

use std::{path::PathBuf, process::ExitCode};

use cairn_cli::scenario;
use clap::{Parser, Subcommand};

/// Cairn: a restaking protocol. See README.md and docs/.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scenario files: genesis, transactions, queries and expected outcomes (docs/scenarios.md).
    #[command(subcommand)]
    Scenario(ScenarioCommand),
}

#[derive(Debug, Subcommand)]
enum ScenarioCommand {
    /// Run a scenario file and print its JSON report; exit 1 if any step fails.
    Run {
        /// The scenario file (TOML, or JSON when it ends in .json).
        file: PathBuf,
        /// Do not print the JSON report; only the summary (and failures) on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scenario(ScenarioCommand::Run { file, quiet }) => run_scenario(&file, quiet),
    }
}

fn run_scenario(file: &PathBuf, quiet: bool) -> ExitCode {
    let report = match scenario::run_file(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    if !quiet {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: cannot print the report: {e}");
                return ExitCode::from(2);
            }
        }
    }
    for line in report.failure_lines() {
        eprintln!("  FAILED {line}");
    }
    eprintln!("{}", report.summary_line());
    if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
