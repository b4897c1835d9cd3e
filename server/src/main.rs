//! `server`: see `server --help`.

use std::process::ExitCode;

use clap::Parser as _;
use server::{cli, config::Config, telemetry};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("vanguard: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    // A health probe answers with its exit code; its failures are not
    // worth a log line every few seconds.
    let telemetry = (!matches!(cli.command, Some(cli::Command::Healthcheck { .. })))
        .then(|| telemetry::init(config.log_format));

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("vanguard: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli::run(cli, config));
    if let Err(error) = &outcome {
        tracing::error!(error = format!("{error:#}"), "fatal");
    }
    // The runtime first (it may still hold spans), then the exporter.
    drop(runtime);
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vanguard: {error:#}");
            ExitCode::FAILURE
        }
    }
}
