//! deployguard: prove a CI harness's deploy budget from its code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use miette::{LabeledSpan, MietteDiagnostic, NamedSource, Report};

use deployguard::commands::{self, CommandError, ExitStatus};
use deployguard::{cli, policy::PolicyError};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let status = match commands::run(cli.command) {
        Ok(outcome) => {
            write_stdout(&outcome.stdout);
            outcome.status
        }
        Err(error) => {
            eprintln!("{:?}", error_report(&error));
            ExitStatus::Error
        }
    };
    ExitCode::from(status as u8)
}

/// Writes to stdout; a closed pipe (`deployguard ... | head`) is not an error.
fn write_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("deployguard: cannot write output: {error}");
    }
}

fn error_report(error: &CommandError) -> Report {
    let mut diagnostic = MietteDiagnostic::new(error.to_string()).with_code("deployguard::error");
    if let Some(help) = error.help() {
        diagnostic = diagnostic.with_help(help);
    }
    if let CommandError::Policy(PolicyError::Invalid {
        path,
        text,
        span: Some(span),
        ..
    }) = error
    {
        let label = LabeledSpan::new_primary_with_span(Some("here".into()), span.clone());
        return Report::new(diagnostic.with_labels([label]))
            .with_source_code(NamedSource::new(path.display().to_string(), text.clone()));
    }
    Report::new(diagnostic)
}
