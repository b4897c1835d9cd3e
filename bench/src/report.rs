//! The figures, each with its budget and verdict: printed as a table and
//! written as `BENCHMARKS.md`.

use std::{fmt::Write as _, io::Write as _, path::Path};

use anyhow::Context as _;

use crate::machine::Machine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Miss,
    /// Measured, no budget.
    Info,
    /// Not measured (with a note saying why).
    Skipped,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Miss => "MISS",
            Self::Info => "info",
            Self::Skipped => "skipped",
        }
    }

    pub fn of(pass: bool) -> Self {
        if pass { Self::Pass } else { Self::Miss }
    }
}

#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub value: String,
    pub budget: String,
    pub status: Status,
}

impl Figure {
    pub fn new(
        name: impl Into<String>,
        value: impl Into<String>,
        budget: impl Into<String>,
        status: Status,
    ) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            budget: budget.into(),
            status,
        }
    }

    pub fn info(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, value, "—", Status::Info)
    }
}

/// One table: an engine, or the build.
#[derive(Debug, Clone, Default)]
pub struct Section {
    pub title: String,
    pub figures: Vec<Figure>,
    pub notes: Vec<String>,
}

pub struct Report {
    pub machine: Machine,
    pub command: String,
    pub smoke: bool,
    /// What the bench set on the server (rate limits lifted, pool size...).
    pub settings: Vec<String>,
    pub sections: Vec<Section>,
}

impl Report {
    /// The tables for a terminal.
    pub fn print(&self) -> anyhow::Result<()> {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nVanguard benchmarks{} — {} ({} cores, {:.1} GB), {}, commit {}, load average at start {}",
            if self.smoke {
                " (smoke: tiny phases)"
            } else {
                ""
            },
            self.machine.cpu,
            self.machine.cores,
            self.machine.memory_gb,
            self.machine.date,
            self.machine.commit,
            self.machine.load_at_start
        );
        for section in &self.sections {
            let width = |pick: fn(&Figure) -> &str, header: &str| {
                section
                    .figures
                    .iter()
                    .map(|f| pick(f).chars().count())
                    .chain([header.len()])
                    .max()
                    .unwrap_or_default()
            };
            let (w_name, w_value, w_budget) = (
                width(|f| f.name.as_str(), "Figure"),
                width(|f| f.value.as_str(), "Measured"),
                width(|f| f.budget.as_str(), "Budget"),
            );
            let _ = writeln!(out, "\n{}", section.title);
            let _ = writeln!(
                out,
                "  {:<w_name$}  {:<w_value$}  {:<w_budget$}  Status",
                "Figure", "Measured", "Budget"
            );
            for figure in &section.figures {
                let _ = writeln!(
                    out,
                    "  {:<w_name$}  {:<w_value$}  {:<w_budget$}  {}",
                    figure.name,
                    figure.value,
                    figure.budget,
                    figure.status.label()
                );
            }
            for note in &section.notes {
                let _ = writeln!(out, "  note: {note}");
            }
        }
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
        Ok(())
    }

    /// `BENCHMARKS.md`.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(out, "# Vanguard benchmarks\n");
        let _ = writeln!(
            out,
            "Measured by the benchmark harness (`bench/`), which starts the release `server` binary \
             on a fresh database per engine and loads it over HTTP on loopback. Regenerate this file \
             with the command below; figures from another machine are not comparable.\n"
        );
        if self.smoke {
            let _ = writeln!(
                out,
                "> **Smoke run:** every phase lasted about a second (the pipeline's burst two, its \
                 drain as long as it took); these figures only show that the harness works.\n"
            );
        }
        let _ = writeln!(out, "| | |\n| --- | --- |");
        let _ = writeln!(
            out,
            "| Machine | {}, {} cores, {:.1} GB RAM |",
            m.cpu, m.cores, m.memory_gb
        );
        let _ = writeln!(out, "| OS | {} |", m.os);
        let _ = writeln!(out, "| Date | {} |", m.date);
        let _ = writeln!(
            out,
            "| Load average at start | {} (1 min; near 0 means the cores were free) |",
            m.load_at_start
        );
        let _ = writeln!(out, "| Commit | `{}` |", m.commit);
        let _ = writeln!(out, "| Command | `{}` |\n", self.command);
        let _ = writeln!(
            out,
            "Server settings for the run: {}.\n",
            self.settings.join("; ")
        );
        for section in &self.sections {
            let _ = writeln!(out, "## {}\n", section.title);
            let _ = writeln!(out, "| Figure | Measured | Budget | Status |");
            let _ = writeln!(out, "| --- | --- | --- | --- |");
            for f in &section.figures {
                let status = match f.status {
                    Status::Pass => "**PASS**",
                    Status::Miss => "**MISS**",
                    other => other.label(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    f.name, f.value, f.budget, status
                );
            }
            if !section.notes.is_empty() {
                out.push('\n');
                for note in &section.notes {
                    let _ = writeln!(out, "- {note}");
                }
            }
            out.push('\n');
        }
        out.push_str(HOW_TO_READ);
        out
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.markdown())
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

const HOW_TO_READ: &str = "## How to read this

- **Cold start**: from spawning the process to the first `200` from `/health/ready` (the database
  answers, migrations applied). *First start* is on an empty database, so it includes creating
  the schema and the development keys; the median is of three restarts on the migrated database,
  which is what a replacement replica does.
- **Claim ingestion**: 16 clients (`--clients`) in a closed loop (each sends its next `POST /api/v1/claims` when
  the previous one answered `202`), every request with a fresh `Idempotency-Key`, a claimant
  (sealed by the PII vault) and two lines, spread over as many active policies as clients. After a short warm-up
  that is not counted, throughput is the answers per second over the measured window; p50/p99 are
  per request.
- **Write ceiling** (issue 16): the engine's own limit, with none of Vanguard's code or SQL: one
  INSERT of a claim-sized row (text UUID key, unique claim number from a sequence, policy, status,
  date, money, ~300 bytes of JSON-ish details, two timestamps) per transaction, into a table of its
  own. On PostgreSQL `pgbench -n -M prepared -c 16 -j 2 -T <window>` with a custom script, on the
  ceiling's scratch database (`tps` without the initial connection time; pgbench has no warm-up
  and counts whole seconds); on SQLite a bare loop of the same prepared INSERT through sqlx's
  native driver by as many tasks as there are clients, on a fresh file with the server's pragmas
  (WAL, `synchronous=FULL`, busy timeout 5 s). *Ingestion / ceiling* is how much of that the whole
  server delivers; the budget (≥ 60 %) applies to it.
- **Vanguard's ingestion SQL replayed, no HTTP**: the SQL one ingestion runs (the key look-up, then
  one write transaction: key, policy, data key, counter, claim, lines, execution, job, audit
  record, stored answer), sent by as many tasks as there are clients straight through sqlx (`Any`
  driver, a pool of that size, the server's SQLite pragmas) against a separate fresh database
  migrated by `server migrate` and seeded by `server seed-demo`. It has no budget: it locates the
  bottleneck. Ingestion close to the replay but far below the write ceiling means the cost is in
  Vanguard's statements (their number, hot rows, round trips), not in HTTP, JSON or encryption.
- **1 vs 2 replicas** (PostgreSQL; issue 16): after the other load phases, the same ingestion loop
  through the loaded server alone, then at once through it and a second `server serve` started on
  the same database and data directory, client *c* sending to replica *c* mod 2. Both windows run
  back to back, so they see the same database; *2 replicas / 1* is the ratio of their rates
  (budget ≥ 1.8x). On a 2-core machine the load generator, PostgreSQL and both servers share the
  cores, so a ratio below 2 is expected even without a hot row; a ratio near 1 means the
  replicas wait on the database, not on their CPU.
- **p99 at 50 % load**: an open loop at half the measured ingestion rate: requests leave on a fixed
  schedule whatever the answers do, and each latency counts from the scheduled moment, so queueing
  is not hidden (no coordinated omission).
- **Claim read**: `GET /api/v1/claims/{id}` (the claim page's data: lines, notes, masked claimant,
  pipeline runs, timeline) by 16 clients over the ingested claims, each claim fetched in full.
  *Bare axum + sqlx* is the read baseline (issue 16): a separate process (the bench binary
  re-executed) serving `GET /claims/{id}` with one SELECT of the claim's own row as JSON, no
  authentication, on the same database with a native sqlx pool of the same size, loaded the same
  way over the same claims right after. *Claim read / bare axum + sqlx* is Vanguard's share of what
  its own framework does on this machine (budget ≥ 50 %).
- **SQL statements per request**: a server of its own on the loaded database with sqlx's statement
  log on (`RUST_LOG=...,sqlx::query=debug`), sent 20 claim reads and then 20 ingestions one at a
  time after one of each that is not counted; the `sqlx::query` lines its log has inside a
  request's span (so background tasks do not count), over the requests. `BEGIN` and `COMMIT`
  count; sqlx's connection pings are not logged and do not.
- **SSR claims list**: `GET /claims?per_page=50` rendered on the server for a signed-in member of
  staff (one client, one request at a time: page latency, not throughput), with thousands of claims
  stored: on a kept-alive connection, as a browser navigates (the budget applies to this one), to
  its headers on that connection, and with a new connection for every page.
- **RSS**: the server's resident memory, sampled from `/proc/<pid>/status` every 50 ms during the
  load phases (`VmRSS`), and the kernel's high-water mark (`VmHWM`) at the end; the budget applies
  to the high-water mark.
- **Pipeline** (issue 14: the pipeline keeps up): a separate server *with* workers
  (`VANGUARD_WORKERS` not set, so the server's default applies, unless `--pipeline-workers`; the
  notes give the count its log reported) on a fresh database of its own, so its outbox holds only
  this phase's jobs. A *burst*: the 16 clients ingest claims in a closed loop at full rate for 60 s
  (`--burst-seconds`; no warm-up), then stop, and `/metrics` is read every 250 ms until no job is
  `pending` or `running`, for at most 10 minutes (a timeout is a MISS, not an error). Every
  pipeline figure comes from the `vanguard_outbox_jobs{state}` gauges. *Claims/s*: `202`s per
  second over the burst. *Steps/s during the burst*: the growth of the `done` gauge from a scrape
  just before the first claim to one just after the last answer, divided by the wall time between
  the two; *during the drain* (in the drain figure), the same from that scrape to the one that
  ended the drain. *Keeps up*: burst steps/s ÷ (4 × claims/s), since each claim makes four jobs
  (`check_coverage`, `triage`, `snapshot`, `notify`): at 100 % the workers finish steps as fast
  as ingestion creates them. *Backlog*: `pending + running` at the end of the burst; a claim has at
  most one such job at a time (its next step is enqueued when one completes), so the steps not yet
  done, 4 × claims accepted − `done`, are given too. *Drained*: from the end of the burst to the
  first scrape with a backlog of 0.
- **Soak** (`--soak`; 10 minutes, `--soak-seconds`): on the same server once the burst's backlog
  has drained, an open loop at 80 % of the burst's claims/s (the capacity measured in the same run,
  with the workers competing for the database), the backlog (`pending + running`) sampled every
  5 s. *Start*, *max* and *end* are samples (the end one after the last answer); the *slope* is the
  least-squares line through all samples, in jobs per second. The rule: the outbox is bounded when
  no sample of the second half exceeds 2 × the backlog at 5 s (at a tenth of a soak shorter than
  50 s) + 100 jobs: a queue that only fluctuates passes, one that keeps growing, even slowly,
  outgrows the limit. The steps/s of the soak are given as a share of 4 × its claims/s, as for the
  burst.
- **WASM**: `target/site/pkg/vanguard.wasm` as built by `cargo leptos build --release`, raw,
  gzip (best level) and brotli (quality 11), as the browser downloads it.
- Units: ms are milliseconds; MB and KB are decimal (10^6 and 10^3 bytes). PASS/MISS compare each
  figure with its budget from issue 7 or 16; a MISS does not fail the run (this is a measurement, not a
  test), an error does (any non-2xx answer, a server that does not start or does not exit 0).

## Notes

- The load generator runs on the same machine as the server and the database: on 2 cores the
  three compete for CPU, so throughput is lower and tail latency higher than with the client on
  another host.
- The rate limits are lifted for the run (`VANGUARD_API_RATE_PER_MINUTE=1000000`,
  `VANGUARD_LOGIN_RATE_PER_MINUTE=10000`); with the defaults (60 API calls per minute per client)
  the load would be answered `429` within a second.
- Outside the pipeline phase the server runs as a web-only replica (`VANGUARD_WORKERS=0`, as
  `deploy/` runs the web tasks), so the pipeline does not triage the claims during those
  measurements. In the pipeline phase the workers run in the same process, and their steps compete
  with ingestion for the database (on SQLite, for its single writer): the burst's claims/s are
  lower than the web-only ingestion's.
- SQLite commits with `synchronous=FULL`: every acknowledged claim is on disk, so ingestion on
  SQLite is bounded by the disk's fsync latency, and so is its ceiling.
- Each request's log line is written (JSON on stdout, to a file), as in production.
- Single runs vary: a p99 over a 10 s window rests on its slowest 1 % (a few dozen requests), and
  SQLite's fsync and busy-handler waits are uneven, so a figure near its budget can read PASS in
  one run and MISS in the next. Run twice before acting on one that is close.
";
