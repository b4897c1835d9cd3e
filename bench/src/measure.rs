//! One engine's section of the report: every figure against its budget.

use std::time::Duration;

use anyhow::Context as _;

use crate::{
    BARE_READ_SHARE_MIN, CEILING_SHARE_MIN, HALF_LOAD_P99_MAX, Plan, RSS_MAX_MB, SSR_P99_MAX,
    SSR_ROWS, TWO_REPLICAS_MIN, Targets, ceiling, explain_failure, list_scale, machine,
    phases::{Loaded, load_phases},
    pipeline, probe_client,
    report::{Figure, Section, Status},
    server::{Engine, Launch, Server},
    stats::{Summary, median, megabytes, millis},
    write_ceiling,
};

pub(crate) async fn measure_engine(
    targets: &Targets,
    plan: Plan,
    launch: &Launch,
) -> anyhow::Result<Section> {
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
