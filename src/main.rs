//! deployguard: prove a CI harness's deploy budget from its code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use miette::{LabeledSpan, MietteDiagnostic, NamedSource, Report};

use deployguard::commands::{self, CommandError, ExitStatus};
use deployguard::{cli, policy::PolicyError};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // An error's help often names a command to paste (`git fetch ...`): never wrap it.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    // A bug must not look like a verdict: a panic anywhere (rayon re-raises worker panics
    // here) is reported as one and exits 2, never 0 or 1.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "deployguard: internal error: {info}\n  This is a bug in deployguard, not a finding about your code: \
             nothing was proven (exit 2).\n  Please report it with the input that triggered it."
        );
    }));
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        #[cfg(debug_assertions)]
        if std::env::var_os("DEPLOYGUARD_DEBUG_PANIC").is_some() {
            panic!("DEPLOYGUARD_DEBUG_PANIC is set");
        }
        commands::run(cli.command)
    }));
    let status = match run {
        Ok(Ok(outcome)) => {
            write_stdout(&outcome.stdout);
            if let Some(warning) = &outcome.warning {
                eprintln!("warning: {warning}");
            }
            outcome.status
        }
        Ok(Err(error)) => {
            eprintln!("{:?}", error_report(&error));
            ExitStatus::Error
        }
        Err(_) => ExitStatus::Error,
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
