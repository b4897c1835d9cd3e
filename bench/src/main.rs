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
mod ceiling;
mod fixtures;
mod list_scale;
mod load;
mod machine;
mod pg;
mod pipeline;
mod replicas;
mod report;
mod server;
mod site;
mod statements;
mod stats;
mod write_ceiling;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use crate::{
    fixtures::ClaimFeed,
    report::{Figure, Report, Section, Status},
    server::{Engine, Launch, Server, Target},
    stats::{Summary, kilobytes, median, megabytes, millis},
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

async fn measure_engine(targets: &Targets, plan: Plan, launch: &Launch) -> anyhow::Result<Section> {
    let (main, ceiling_target) = (&targets.main, &targets.ceiling);
    let engine = main.engine;
    let mut section = Section {
        title: engine.name().to_owned(),
        ..Section::default()
    };

    if plan.list_scale_only {
        let scaled = list_scale(targets, plan, launch).await?;
        section.figures.extend(scaled.figures(plan.clients));
        return Ok(section);
    }
    if plan.pipeline_only {
        let pipelined = pipeline::measure(&targets.pipeline, launch, plan.pipeline).await?;
        section.figures.extend(pipelined.figures);
        section.notes.extend(pipelined.notes);
        return Ok(section);
    }
    let cpu_before = machine::CpuSnapshot::take();

    // The database ceiling, on its own database, before any server runs.
    eprintln!("bench:   ceiling: migrate, seed, {} tasks", plan.clients);
    ceiling_target.run(launch, &["migrate"], &[]).await?;
    ceiling_target.run(launch, &["seed-demo"], &[]).await?;
    let pool = ceiling::pool(engine, &targets.ceiling_url, launch.pool_size).await?;
    let replayed = ceiling::run(engine, pool.clone(), plan.clients, plan.warmup, plan.window).await;
    pool.close().await;
    let replayed = replayed.context("Vanguard's ingestion SQL replayed")?;
    eprintln!("bench:   write ceiling: one claim-sized INSERT per transaction");
    let write_ceiling = match engine {
        Engine::Postgres => {
            write_ceiling::postgres(
                &targets.ceiling_url,
                &ceiling_target.data_dir,
                plan.clients,
                plan.window,
            )
            .await
        }
        Engine::Sqlite => write_ceiling::sqlite(
            &ceiling_target.data_dir.join("write-ceiling.db"),
            plan.clients,
            plan.warmup,
            plan.window,
        )
        .await
        .map(Some),
    }
    .context("the engine's write ceiling")?;

    // Cold starts: one on the empty database, then restarts.
    eprintln!("bench:   cold starts");
    let (first, first_ms) = Server::start(main, launch, &probe_client()?, "first").await?;
    first.stop().await?;
    let mut restarts = Vec::new();
    let mut running = None;
    for i in 0..plan.restarts {
        let (server, elapsed) =
            Server::start(main, launch, &probe_client()?, &format!("restart{i}")).await?;
        restarts.push(elapsed);
        if i + 1 == plan.restarts {
            running = Some(server);
        } else {
            server.stop().await?;
        }
    }
    let mut server = running.context("no server is running")?;
    section.figures.push(Figure::info(
        "Cold start, first (empty database: schema, keys)",
        millis(first_ms),
    ));
    section.figures.push(Figure::info(
        format!("Cold start, median of {} restarts", plan.restarts),
        millis(median(&restarts)),
    ));

    let loaded = match load_phases(main, &server, plan, launch).await {
        Ok(loaded) => loaded,
        Err(error) => {
            explain_failure(&mut server);
            return Err(error);
        }
    };
    let hwm = server.memory().map(|(hwm, _)| hwm).unwrap_or_default();
    server.stop().await?;

    let pipelined = pipeline::measure(&targets.pipeline, launch, plan.pipeline).await?;
    let scaled = list_scale(targets, plan, launch).await?;

    if let (Some(before), Some(after)) = (cpu_before, machine::CpuSnapshot::take()) {
        let foreign = after.foreign_cores_since(&before);
        section.notes.push(format!(
            "Other processes on the machine kept {foreign:.2} of its cores busy on average while \
             this engine was measured (0 is ideal; above about 0.2 the figures are pessimistic)."
        ));
    }
    section.figures.push(Figure::info(
        format!("Claim ingestion, {} clients", plan.clients),
        loaded.ingest.describe("req"),
    ));
    section.figures.extend(ceiling_figures(
        engine,
        plan,
        &loaded,
        write_ceiling.as_ref(),
        &replayed,
    ));
    if write_ceiling.is_none() {
        section.notes.push(
            "No `pgbench` on this machine (Debian's `postgresql-client` has it): the PostgreSQL \
             write ceiling was not measured, so neither was ingestion's share of it."
                .into(),
        );
    }
    if let Some((one, two)) = &loaded.replicas {
        let factor = if one.rate() > 0.0 {
            two.rate() / one.rate()
        } else {
            0.0
        };
        section.figures.extend([
            Figure::info(
                format!("Claim ingestion, 1 replica, {} clients", plan.clients),
                one.describe("req"),
            ),
            Figure::info(
                format!(
                    "Claim ingestion, 2 replicas on one database, {} clients split",
                    plan.clients
                ),
                two.describe("req"),
            ),
            Figure::new(
                "2 replicas / 1",
                format!("{factor:.2}x"),
                format!("≥ {TWO_REPLICAS_MIN:.1}x"),
                Status::of(factor >= TWO_REPLICAS_MIN),
            ),
        ]);
    }
    let read_share = percent(loaded.read.rate(), loaded.bare_read.rate());
    section.figures.extend([
        Figure::new(
            format!(
                "p99 at 50 % load ({:.0} req/s, open loop)",
                loaded.half.rate()
            ),
            format!(
                "p99 {} · p50 {}{}",
                millis(loaded.half.p99()),
                millis(loaded.half.p50()),
                loaded.half.failures()
            ),
            format!("< {}, none failed", millis(HALF_LOAD_P99_MAX)),
            Status::of(loaded.half.p99() < HALF_LOAD_P99_MAX && loaded.half.failed == 0),
        ),
        Figure::info(
            format!("Claim read, {} clients", plan.clients),
            loaded.read.describe("req"),
        ),
        Figure::info(
            format!(
                "Bare axum + sqlx, `GET /claims/{{id}}` (one SELECT), {} clients",
                plan.clients
            ),
            loaded.bare_read.describe("req"),
        ),
        Figure::info(
            "SQL statements per request (sqlx's log; BEGIN, COMMIT included)",
            format!(
                "`GET /api/v1/claims/{{id}}` {:.1} · `POST /api/v1/claims` {:.1} (bare server: 1)",
                loaded.statements.read, loaded.statements.ingest
            ),
        ),
        Figure::new(
            "Claim read / bare axum + sqlx",
            format!("{read_share:.0} %"),
            format!("≥ {BARE_READ_SHARE_MIN:.0} %"),
            Status::of(read_share >= BARE_READ_SHARE_MIN),
        ),
        Figure::new(
            format!(
                "SSR `/claims`, {} rows, 1 client, kept-alive connection ({:.0} pages/s)",
                loaded.rows,
                loaded.ssr.rate()
            ),
            format!(
                "p99 {} · p50 {}",
                millis(loaded.ssr.p99()),
                millis(loaded.ssr.p50())
            ),
            format!("p99 < {}", millis(SSR_P99_MAX)),
            Status::of(loaded.ssr.p99() < SSR_P99_MAX),
        ),
        Figure::info(
            "SSR `/claims`, new connection per page",
            format!(
                "p99 {} · p50 {}",
                millis(loaded.ssr_fresh.p99()),
                millis(loaded.ssr_fresh.p50())
            ),
        ),
        Figure::info(
            "SSR `/claims`, kept alive, to the first byte (headers)",
            format!(
                "p99 {} · p50 {}",
                millis(loaded.ssr_first_byte.p99()),
                millis(loaded.ssr_first_byte.p50())
            ),
        ),
        Figure::new(
            "Server RSS under load (VmHWM)",
            format!(
                "{:.1} MB (VmRSS sampled peak {:.1} MB)",
                megabytes(hwm),
                megabytes(loaded.rss_peak)
            ),
            format!("≤ {RSS_MAX_MB:.0} MB"),
            Status::of(hwm > 0 && megabytes(hwm) <= RSS_MAX_MB),
        ),
    ]);
    section.notes.push(format!(
        "{} claims were stored when the claims list was measured.",
        loaded.claims
    ));

    let stall = loaded.ssr.p99().saturating_sub(loaded.ssr_first_byte.p99());
    if stall >= Duration::from_millis(30) {
        section.notes.push(format!(
            "On a kept-alive connection the claims page's headers arrive after {} / {} (p50 / \
             p99) but the whole page after {} / {}, while a new connection per page gets the \
             whole page in {} / {}: the page is streamed in several writes and the server's \
             sockets do not set `TCP_NODELAY`, so on a connection that has already carried a \
             response a later chunk can wait for the client's delayed ACK (Nagle; about 40 ms on \
             Linux). Rendering is not the cost.",
            millis(loaded.ssr_first_byte.p50()),
            millis(loaded.ssr_first_byte.p99()),
            millis(loaded.ssr.p50()),
            millis(loaded.ssr.p99()),
            millis(loaded.ssr_fresh.p50()),
            millis(loaded.ssr_fresh.p99())
        ));
    }
    if engine == Engine::Sqlite && replayed.p99() > replayed.p50() * 10 {
        section.notes.push(format!(
            "The SQLite tails (ingestion p99 {}, replayed SQL p99 {}) come from the engine's \
             locking: a writer that finds the write lock taken sleeps in SQLite's busy handler and \
             retries (in steps of 1, 2, 5, 10 … 100 ms), so with {} concurrent writers a few wait \
             for hundreds of milliseconds. The replayed SQL, with no HTTP at all, shows the same \
             tail.",
            millis(loaded.ingest.p99()),
            millis(replayed.p99()),
            plan.clients
        ));
    }
    if engine == Engine::Sqlite && megabytes(hwm) > RSS_MAX_MB {
        section.notes.push(format!(
            "The RSS over budget is most likely SQLite's page caches, which live inside the \
             server process: every connection keeps its own (up to 2 MB by default) and the pool \
             has {} connections here, so resident memory grows with the database until the \
             caches are full ({} claims were stored). A smaller `PRAGMA cache_size` or pool would \
             trade some read speed for it.",
            launch.pool_size, loaded.claims
        ));
    }
    if loaded.rows < SSR_ROWS {
        section.notes.push(format!(
            "`/claims?per_page={SSR_ROWS}` rendered {} rows: the claims page takes no `per_page` \
             parameter (its `list_claims` server function fixes 25 rows a page), so the SSR figure \
             is for a {}-row page, not {SSR_ROWS}.",
            loaded.rows, loaded.rows
        ));
    }
    section.figures.extend(pipelined.figures);
    section.notes.extend(pipelined.notes);
    section.figures.extend(scaled.figures(plan.clients));
    Ok(section)
}

/// `part` as a percentage of `whole` (0 when there is no whole).
fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole * 100.0
    } else {
        0.0
    }
}

/// The write ceiling, ingestion's share of it (the budget), and the replay
/// of Vanguard's own ingestion transaction, which locates the bottleneck:
/// a share of the replay far above the share of the ceiling means the cost
/// is in Vanguard's SQL, not in its HTTP layer.
fn ceiling_figures(
    engine: Engine,
    plan: Plan,
    loaded: &Loaded,
    write_ceiling: Option<&write_ceiling::WriteCeiling>,
    replayed: &Summary,
) -> Vec<Figure> {
    let name = match engine {
        Engine::Postgres => format!(
            "Write ceiling: one claim-sized INSERT per transaction, pgbench, {} clients",
            plan.clients
        ),
        Engine::Sqlite => format!(
            "Write ceiling: one claim-sized INSERT per transaction, bare sqlx loop, {} tasks",
            plan.clients
        ),
    };
    let budget = format!("≥ {CEILING_SHARE_MIN:.0} %");
    let ingest = loaded.ingest.rate();
    let mut figures = match write_ceiling {
        Some(ceiling) => {
            let share = percent(ingest, ceiling.rate);
            vec![
                Figure::info(name, ceiling.described.clone()),
                Figure::new(
                    "Ingestion / ceiling",
                    format!("{share:.0} %"),
                    budget,
                    Status::of(share >= CEILING_SHARE_MIN),
                ),
            ]
        }
        None => vec![
            Figure::new(name, "pgbench not found", "—", Status::Skipped),
            Figure::new(
                "Ingestion / ceiling",
                "not measured",
                budget,
                Status::Skipped,
            ),
        ],
    };
    figures.extend([
        Figure::info(
            format!(
                "Vanguard's ingestion SQL replayed, no HTTP, {} tasks",
                plan.clients
            ),
            replayed.describe("tx"),
        ),
        Figure::info(
            "Ingestion / replayed SQL",
            format!("{:.0} %", percent(ingest, replayed.rate())),
        ),
    ]);
    figures
}

struct Loaded {
    ingest: Summary,
    half: Summary,
    read: Summary,
    /// The same reads from the bare axum + sqlx server.
    bare_read: Summary,
    /// PostgreSQL: ingestion through one replica, then through two.
    replicas: Option<(Summary, Summary)>,
    statements: statements::PerRequest,
    ssr: Summary,
    /// The same requests, to the answer's headers.
    ssr_first_byte: Summary,
    /// A new connection for every page.
    ssr_fresh: Summary,
    rows: usize,
    claims: usize,
    rss_peak: u64,
}

/// Everything measured against the running server.
async fn load_phases(
    target: &Target,
    server: &Server,
    plan: Plan,
    launch: &Launch,
) -> anyhow::Result<Loaded> {
    // An API client and a member of staff, through the operator commands.
    let feed = ClaimFeed::prepare(target, launch, server, load_client()?, plan.clients).await?;
    let admin_email = "bench-admin@vanguard.local";
    let admin_password = format!("Bench-{}", uuid::Uuid::new_v4().simple());
    target
        .run(
            launch,
            &["create-admin", "--email", admin_email],
            &[("VANGUARD_ADMIN_PASSWORD", &admin_password)],
        )
        .await?;

    // Two browsers sharing one cookie jar: one keeps its connection alive
    // (as a browser does), the other opens a new one for every page.
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser_with = |pool: usize| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(Arc::clone(&jar))
            .pool_max_idle_per_host(pool)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()
    };
    let browser = browser_with(8)?;
    let fresh_browser = browser_with(0)?;
    fixtures::staff_session(&browser, server, admin_email, &admin_password).await?;

    let pid = server.pid;
    let sampler = load::Sampler::start(Duration::from_millis(50), move || async move {
        Ok(server::memory_of(pid).map(|(_, rss)| rss))
    });
    let ids = Arc::new(Mutex::new(Vec::<String>::new()));

    eprintln!("bench:   ingestion, {} clients", plan.clients);
    let ingest = replicas::ingest(vec![feed.clone()], "one", plan, Arc::clone(&ids))
        .await
        .context("claim ingestion")?;

    let half_rate = ingest.rate() / 2.0;
    eprintln!("bench:   open loop at {half_rate:.0} req/s");
    let half = {
        let feed = feed.clone();
        load::open_loop(half_rate, plan.window, move |seq| {
            let feed = feed.clone();
            async move {
                let index = usize::try_from(seq).unwrap_or_default();
                feed.submit(index, &format!("open-{seq}")).await.map(drop)
            }
        })
        .await
        .context("ingestion at half load")?
    };

    let mut ids = ids
        .lock()
        .map_err(|_| anyhow::anyhow!("the id list is poisoned"))?
        .clone();
    // The list page needs a full page of claims.
    let mut extra = 0_usize;
    while ids.len() < SSR_ROWS {
        ids.push(feed.submit(0, &format!("extra-{extra}")).await?);
        extra += 1;
    }
    let claims = ids.len() + half.count;

    eprintln!("bench:   claim reads, {} clients", plan.clients);
    let ids = Arc::new(ids);
    let read = {
        let (api, ids) = (feed.api.clone(), Arc::clone(&ids));
        load::closed_loop(
            plan.clients,
            plan.warmup,
            plan.window,
            move |client, seq| {
                let (api, ids) = (api.clone(), Arc::clone(&ids));
                async move { api.read(bare::spread(&ids, client, seq)?).await.map(drop) }
            },
        )
        .await
        .context("claim reads")?
    };
    eprintln!("bench:   bare axum + sqlx reads, {} clients", plan.clients);
    let bare_url = target
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", target.data_dir.join("vanguard.db").display()));
    let bare_read = bare::measure(
        &bare_url,
        launch.pool_size,
        load_client()?,
        Arc::clone(&ids),
        (plan.clients, plan.warmup, plan.window),
    )
    .await?;

    eprintln!("bench:   SSR /claims");
    let page_url = server.url(&format!("/claims?per_page={SSR_ROWS}"));
    let first_page = fixtures::expect(
        browser.get(&page_url).send().await?,
        200,
        "GET /claims (signed in)",
    )
    .await?
    .text()
    .await?;
    let rows = fixtures::claim_rows(&first_page);
    anyhow::ensure!(
        rows > 0,
        "the claims page rendered no claim rows (is the session signed in?)"
    );
    let (ssr, ssr_first_byte) = ssr_pages(&browser, &page_url, plan).await?;
    let (ssr_fresh, _) = ssr_pages(&fresh_browser, &page_url, plan).await?;
    let rss_peak = sampler
        .stop()
        .await?
        .into_iter()
        .map(|(_, rss)| rss)
        .max()
        .unwrap_or_default();
    let replicas = match target.engine {
        Engine::Postgres => Some(one_vs_two_replicas(target, &feed, plan, launch).await?),
        Engine::Sqlite => None,
    };
    eprintln!("bench:   SQL statements per request");
    let statements = statements::count(target, launch, &feed, &ids, plan).await?;
    Ok(Loaded {
        ingest,
        half,
        read,
        bare_read,
        replicas,
        statements,
        ssr,
        ssr_first_byte,
        ssr_fresh,
        rows,
        claims,
        rss_peak,
    })
}

/// Ingestion through `feed`'s server alone, then through it and a second replica
/// started on the same database, the clients split between the two: back
/// to back, so the two figures see the same database.
async fn one_vs_two_replicas(
    target: &Target,
    feed: &ClaimFeed,
    plan: Plan,
    launch: &Launch,
) -> anyhow::Result<(Summary, Summary)> {
    let discard = || Arc::new(Mutex::new(Vec::new()));
    eprintln!("bench:   ingestion through 1 replica, then 2");
    let one = replicas::ingest(vec![feed.clone()], "replica1", plan, discard())
        .await
        .context("ingestion through 1 replica")?;
    let (mut second, _) = Server::start(target, launch, &probe_client()?, "replica2").await?;
    let two = replicas::ingest(
        vec![feed.clone(), feed.to(&second)],
        "replica2",
        plan,
        discard(),
    )
    .await;
    if two.is_err() {
        explain_failure(&mut second);
    }
    second.stop().await?;
    Ok((one, two.context("ingestion through 2 replicas")?))
}

/// One client fetching `page_url` page after page: the whole page, and
/// the time to its headers.
async fn ssr_pages(
    browser: &reqwest::Client,
    page_url: &str,
    plan: Plan,
) -> anyhow::Result<(Summary, Summary)> {
    let (browser, page_url) = (browser.clone(), page_url.to_owned());
    load::closed_loop_timed(1, plan.warmup, plan.ssr_window, move |_, _| {
        let (browser, page_url) = (browser.clone(), page_url.clone());
        async move {
            let sent = std::time::Instant::now();
            let response = browser.get(&page_url).send().await?;
            let first_byte = sent.elapsed();
            fixtures::expect(response, 200, "GET /claims")
                .await?
                .bytes()
                .await?;
            Ok(Some(first_byte))
        }
    })
    .await
    .context("SSR of the claims list")
}

/// The WASM bundle's size, when the site is built.
fn build_section(site_root: Option<&Path>) -> anyhow::Result<Section> {
    let mut section = Section {
        title: "Build".into(),
        ..Section::default()
    };
    let budget = format!("≤ {WASM_BROTLI_MAX_KB:.0} KB");
    match site_root.and_then(site::wasm_path) {
        Some(path) => {
            eprintln!("bench: compressing {}", path.display());
            let size = site::measure(&path)?;
            let kb = |bytes: Option<u64>| {
                bytes.map_or_else(
                    || "not measured".to_owned(),
                    |b| format!("{:.0} KB", kilobytes(b)),
                )
            };
            let brotli_status = match size.brotli {
                Some(brotli) if !size.debug_build => {
                    Status::of(kilobytes(brotli) <= WASM_BROTLI_MAX_KB)
                }
                _ => Status::Skipped,
            };
            section.figures.extend([
                Figure::info("WASM bundle, raw", format!("{:.0} KB", kilobytes(size.raw))),
                Figure::info("WASM bundle, gzip -9", kb(size.gzip)),
                Figure::new(
                    "WASM bundle, brotli q11",
                    kb(size.brotli),
                    budget,
                    brotli_status,
                ),
            ]);
            section
                .notes
                .push(format!("Measured file: `{}`.", shown(&path)));
            if size.debug_build {
                section.notes.push(
                    "This bundle has DWARF debug sections: it is a development build (`cargo \
                     leptos build` or `watch`), not what production serves, so the budget is not \
                     applied. Measure after `cargo leptos build --release`."
                        .into(),
                );
            }
        }
        None => {
            section.figures.push(Figure::new(
                "WASM bundle, brotli q11",
                "not built",
                budget,
                Status::Skipped,
            ));
            section.notes.push(
                "No `target/site/pkg/vanguard.wasm`: the site was not built (`cargo leptos build \
                 --release`, or `bash scripts/test.sh`), so the bundle was not measured."
                    .into(),
            );
        }
    }
    Ok(section)
}

/// A path relative to the repository when it is inside it.
fn shown(path: &Path) -> String {
    path.strip_prefix(server::repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}
