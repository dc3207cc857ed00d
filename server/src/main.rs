//! `fluxora-server`: the Fluxora reference server (`serve`, the default) and the operator
//! CLI (`sign`, `verify`, `send`, `backup`, `restore`, `healthcheck`).

use std::process::ExitCode;

use clap::Parser;
use fluxora_server::cli::{
    Cli, Command, run_backup, run_healthcheck, run_restore, run_send, run_sign, run_verify,
};
use fluxora_server::config::{Config, ServeOptions};
use fluxora_server::{logging, server};

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn serve(args: &ServeOptions) -> ExitCode {
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("fluxora-server: {err}");
            return ExitCode::from(2);
        }
    };
    logging::init(config.json_logs);
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("fluxora-server: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let running = match server::start(config).await {
            Ok(running) => running,
            Err(err) => {
                tracing::error!(error = %err, "cannot start");
                eprintln!("fluxora-server: cannot start: {err}");
                return ExitCode::FAILURE;
            }
        };
        server::shutdown_signal().await;
        running.stop().await;
        ExitCode::SUCCESS
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        None => serve(&cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Sign(args)) => run_sign(args),
        Some(Command::Verify(args)) => run_verify(args),
        Some(Command::Send(args)) => match runtime() {
            Ok(runtime) => runtime.block_on(run_send(args)),
            Err(err) => {
                eprintln!("fluxora-server: cannot start the runtime: {err}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Healthcheck(args)) => match runtime() {
            Ok(runtime) => runtime.block_on(run_healthcheck(args)),
            Err(err) => {
                eprintln!("fluxora-server: cannot start the runtime: {err}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Backup(args)) => exit_code(run_backup(args)),
        Some(Command::Restore(args)) => exit_code(run_restore(args)),
    }
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
