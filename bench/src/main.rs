//! The benchmark harness (issue 7): starts the release `server` on a fresh
//! SQLite file and on a fresh PostgreSQL database, measures cold start,
//! claim ingestion against the database's own ceiling, latency at half
//! load, claim reads, the server-rendered claims list, memory under load,
//! whether the claims pipeline keeps up with ingestion (issue 14; and, with
//! `--soak`, whether its outbox stays bounded) and the WASM bundle, and
//! prints each figure with its budget.
//!
//! ```sh
//! cargo run --release -p bench -- [--engine sqlite|postgres|both] [--smoke] [--soak] [--write BENCHMARKS.md]
//! ```
//!
//! A missed budget is reported, not fatal; an error (a non-2xx answer, a
//! server that does not start or exit cleanly) exits non-zero.

mod bare;
mod bundle;
mod ceiling;
mod fixtures;
mod list_scale;
mod load;
mod machine;
mod measure;
mod pg;
mod phases;
mod pipeline;
mod replicas;
mod report;
mod server;
mod site;
mod statements;
mod stats;
mod write_ceiling;

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use crate::{
    bundle::build_section,
    measure::measure_engine,
    report::{Report, Section},
    server::{Engine, Launch, Server, Target},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineChoice {
    Sqlite,
    Postgres,
    Both,
}

/// Benchmarks the release server on SQLite and PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// Which database engine(s) to measure.
    #[arg(long, value_enum, default_value_t = EngineChoice::Both)]
    engine: EngineChoice,
    /// Every phase about a second: checks that the harness works (CI).
    #[arg(long)]
    smoke: bool,
    /// Also write the report as Markdown to this file (e.g. BENCHMARKS.md).
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
    /// The release server binary (default: beside this binary, i.e.
    /// `$CARGO_TARGET_DIR/release/server`).
    #[arg(long, value_name = "PATH")]
    server_bin: Option<PathBuf>,
    /// PostgreSQL administrative URL; a database `vanguard_bench_<random>`
    /// is created on it and dropped afterwards.
    #[arg(
        long,
        env = "BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Concurrent clients of the closed-loop phases (and ceiling tasks).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Length of each measured load window (default 10, or 1 with --smoke).
    #[arg(long)]
    seconds: Option<f64>,
    /// `VANGUARD_WORKERS` for the server under load (0: a web-only replica).
    #[arg(long, default_value_t = 0)]
    workers: u32,
    /// `VANGUARD_WORKERS` for the pipeline phase's server (default: not
    /// set, so the server's own default applies).
    #[arg(long, value_name = "N")]
    pipeline_workers: Option<u32>,
    /// Length of the pipeline phase's ingestion burst (default 60, or 2
    /// with --smoke).
    #[arg(long, value_name = "SECONDS")]
    burst_seconds: Option<f64>,
    /// Also soak the pipeline: open-loop ingestion at 80 % of the burst's
    /// rate, the outbox sampled throughout.
    #[arg(long)]
    soak: bool,
    /// Length of the soak (default 600, or 3 with --smoke).
    #[arg(long, value_name = "SECONDS", requires = "soak")]
    soak_seconds: Option<f64>,
    /// Only the pipeline phase (and the soak, with --soak): for working on
    /// the pipeline; a report of it alone is not a BENCHMARKS.md run.
    #[arg(long, conflicts_with = "write")]
    pipeline_only: bool,
    /// Only the claims list at 1k and at 100k claims (issue 16): for
    /// working on list pages; not a BENCHMARKS.md run.
    #[arg(long, conflicts_with_all = ["write", "pipeline_only"])]
    list_scale_only: bool,
    /// Internal: run as the bare axum + sqlx read baseline on this
    /// database (the harness starts it so, as a process of its own).
    #[arg(long = "serve-bare-reads", value_name = "DATABASE_URL", hide = true)]
    serve_bare_reads: Option<String>,
    /// Internal: the bare server's pool size.
    #[arg(long, default_value_t = 16, hide = true)]
    bare_pool: u32,
}

/// How long each phase lasts.
#[derive(Debug, Clone, Copy)]
struct Plan {
    clients: usize,
    warmup: Duration,
    window: Duration,
    ssr_window: Duration,
    restarts: usize,
    pipeline: pipeline::Plan,
    pipeline_only: bool,
    list_scale_only: bool,
}

impl Plan {
    fn from(args: &Args) -> Self {
        let default_seconds = if args.smoke { 1.0 } else { 10.0 };
        let window = Duration::from_secs_f64(args.seconds.unwrap_or(default_seconds).max(0.1));
        Self {
            clients: args.clients.max(1),
            warmup: if args.smoke {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(1)
            },
            window,
            ssr_window: if args.smoke {
                window
            } else {
                window.min(Duration::from_secs(5))
            },
            restarts: 3,
            pipeline_only: args.pipeline_only,
            list_scale_only: args.list_scale_only,
            pipeline: pipeline::Plan::from_args(
                args.clients.max(1),
                args.smoke,
                args.pipeline_workers,
                args.burst_seconds,
                args.soak.then_some(args.soak_seconds),
            ),
        }
    }
}

/// Budgets from issue 7.
const CEILING_SHARE_MIN: f64 = 60.0;
/// Issue 16: a claim read at half the bare axum + sqlx server or better.
const BARE_READ_SHARE_MIN: f64 = 50.0;
/// Issue 16: two web replicas ingest at least 1.8 times what one does.
const TWO_REPLICAS_MIN: f64 = 1.8;
const HALF_LOAD_P99_MAX: Duration = Duration::from_millis(20);
const SSR_P99_MAX: Duration = Duration::from_millis(15);
const RSS_MAX_MB: f64 = 60.0;
const WASM_BROTLI_MAX_KB: f64 = 250.0;
/// Rows the SSR phase asks the claims list for.
const SSR_ROWS: usize = 50;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Some(database_url) = &args.serve_bare_reads {
        return match bare::serve(database_url, args.bare_pool).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("bench: bare server: error: {error:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match run(&args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let plan = Plan::from(args);
    // Before the bench adds any load of its own.
    let load_at_start = machine::load_average();
    let binary = server::find_server_binary(args.server_bin.as_deref())?;
    let site_root = site::find_site_root();
    // Without a built site the server still renders pages (with links to
    // a bundle that is not there); give it an empty directory.
    let empty_site = tempfile::tempdir()?;
    let launch = Launch {
        binary: binary.clone(),
        site_root: site_root
            .clone()
            .unwrap_or_else(|| empty_site.path().to_path_buf()),
        workers: Some(args.workers),
        pool_size: u32::try_from(plan.clients).unwrap_or(16).clamp(1, 1_000),
    };
    eprintln!(
        "bench: server {}, site {}, {} clients, {:.1} s windows{}",
        binary.display(),
        site_root
            .as_deref()
            .map_or_else(|| "(not built)".to_owned(), |p| p.display().to_string()),
        plan.clients,
        plan.window.as_secs_f64(),
        if args.smoke { " (smoke)" } else { "" }
    );

    if cfg!(debug_assertions) {
        eprintln!(
            "bench: warning: a debug build; the load generator and the bare read baseline are \
             unoptimised (use --release for figures)"
        );
    }
    let engines: &[Engine] = match args.engine {
        EngineChoice::Sqlite => &[Engine::Sqlite],
        EngineChoice::Postgres => &[Engine::Postgres],
        EngineChoice::Both => &[Engine::Sqlite, Engine::Postgres],
    };
    if engines.contains(&Engine::Postgres) {
        pg::check(&args.database_url).await?;
    }
    let mut sections = Vec::new();
    for &engine in engines {
        eprintln!("bench: {} ...", engine.name());
        sections.push(run_engine(engine, args, plan, &launch).await?);
    }
    sections.push(build_section(site_root.as_deref())?);

    let command = std::iter::once("cargo run --release -p bench --".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let report = Report {
        machine: machine::Machine::describe(load_at_start),
        command,
        smoke: args.smoke,
        settings: settings(&launch, plan),
        sections,
    };
    report.print()?;
    if let Some(path) = &args.write {
        report.write(path)?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(())
}

fn settings(launch: &Launch, plan: Plan) -> Vec<String> {
    let mut settings = Vec::new();
    if cfg!(debug_assertions) {
        // The bare read baseline is this binary: unoptimised, it flatters
        // "Claim read / bare axum + sqlx".
        settings.push(
            "**the bench binary is a debug build**: its load generator and the bare axum + sqlx \
             server (this binary re-executed) are unoptimised, so the read baseline is too low \
             (run with `--release`)"
                .to_owned(),
        );
    }
    settings.extend([
        "rate limits lifted (`VANGUARD_API_RATE_PER_MINUTE=1000000`, `VANGUARD_LOGIN_RATE_PER_MINUTE=10000`)".into(),
        format!(
            "`VANGUARD_DB_MAX_CONNECTIONS={}` (default 10), like the ceiling's pool",
            launch.pool_size
        ),
        format!(
            "{}{} outside the pipeline phase",
            pipeline::workers_setting(launch.workers),
            if launch.workers == Some(0) {
                " (web-only replica, `VANGUARD_INTAKE_MAX_BACKLOG=0`: nothing drains its outbox)"
            } else {
                ""
            }
        ),
        "`VANGUARD_ACCESS_TOKEN_TTL_SECONDS=3600`".into(),
        format!(
            "{} clients; each load window {:.0} s after a {:.1} s warm-up (SSR: {:.0} s)",
            plan.clients,
            plan.window.as_secs_f64(),
            plan.warmup.as_secs_f64(),
            plan.ssr_window.as_secs_f64()
        ),
        plan.pipeline.describe(),
    ]);
    settings
}

/// The databases of one engine: the loaded server's, the ceiling's, and
/// the pipeline phase's (fresh, so its outbox holds only the burst's jobs
/// and none left by the web-only phases).
struct Targets {
    main: Target,
    ceiling: Target,
    ceiling_url: String,
    pipeline: Target,
    /// The claims list at 1k and 100k claims, and how to reach its database.
    list: Target,
    list_url: String,
}

/// One engine: its databases are created here and removed afterwards,
/// whatever happened in between.
async fn run_engine(
    engine: Engine,
    args: &Args,
    plan: Plan,
    launch: &Launch,
) -> anyhow::Result<Section> {
    let work = tempfile::Builder::new()
        .prefix(&format!("vanguard-bench-{}-", engine.slug()))
        .tempdir()?;
    let dirs = ["server", "ceiling", "pipeline", "list"].map(|name| work.path().join(name));
    for dir in &dirs {
        std::fs::create_dir_all(dir)?;
    }
    let [main_dir, ceiling_dir, pipeline_dir, list_dir] = dirs;
    let target = |data_dir: PathBuf, database_url: Option<String>| Target {
        engine,
        data_dir,
        database_url,
    };
    match engine {
        Engine::Sqlite => {
            let ceiling_url = format!(
                "sqlite://{}?mode=rwc",
                ceiling_dir.join("vanguard.db").display()
            );
            let list_url = format!(
                "sqlite://{}?mode=rwc",
                list_dir.join("vanguard.db").display()
            );
            let targets = Targets {
                main: target(main_dir, None),
                ceiling: target(ceiling_dir, None),
                ceiling_url,
                pipeline: target(pipeline_dir, None),
                list: target(list_dir, None),
                list_url,
            };
            measure_engine(&targets, plan, launch).await
        }
        Engine::Postgres => {
            let mut dbs = Vec::new();
            for suffix in ["", "_ceiling", "_pipeline", "_list"] {
                match pg::Scratch::create(&args.database_url, suffix).await {
                    Ok(db) => dbs.push(db),
                    Err(error) => {
                        pg::Scratch::drop_all(dbs).await.ok();
                        return Err(error);
                    }
                }
            }
            eprintln!(
                "bench: PostgreSQL databases {}",
                dbs.iter()
                    .map(|db| db.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let url = |i: usize| dbs.get(i).map(|db| db.url.clone());
            let targets = Targets {
                main: target(main_dir, url(0)),
                ceiling: target(ceiling_dir, url(1)),
                ceiling_url: url(1).unwrap_or_default(),
                pipeline: target(pipeline_dir, url(2)),
                list: target(list_dir, url(3)),
                list_url: url(3).unwrap_or_default(),
            };
            let measured = measure_engine(&targets, plan, launch).await;
            let dropped = pg::Scratch::drop_all(dbs).await;
            let section = measured?;
            dropped?;
            Ok(section)
        }
    }
}

/// The claims list at 1k and at 100k claims, on its own database.
async fn list_scale(
    targets: &Targets,
    plan: Plan,
    launch: &Launch,
) -> anyhow::Result<list_scale::Scaled> {
    list_scale::measure(
        &targets.list,
        &targets.list_url,
        launch,
        load_client()?,
        &probe_client()?,
        (plan.clients, plan.warmup, plan.window),
    )
    .await
}

/// A reqwest client for the load: pooled keep-alive connections.
fn load_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")
}

/// A client for readiness probes: no pooled connection survives a restart.
fn probe_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()
        .context("cannot build the HTTP client")
}

/// Prints why a phase against `server` failed: whether it died, and the
/// tails of its output.
fn explain_failure(server: &mut Server) {
    if let Some(status) = server.exited() {
        eprintln!("bench: the server died ({status})");
    }
    eprintln!("{}", server.tails());
}
