//! The pipeline phase (issue 14, "the pipeline keeps up"): a server *with*
//! workers on a fresh database of its own, a burst of closed-loop ingestion
//! at full rate, then the drain of the outbox the burst left; with
//! `--soak`, open-loop ingestion at 80 % of the burst's rate for minutes,
//! to see whether the outbox stays bounded.
//!
//! Everything about the pipeline is read from the server's `/metrics`
//! (`vanguard_outbox_jobs{state}`), not from its database, so the phase
//! measures whatever the binary's workers do, however they are built.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context as _;

use crate::{
    fixtures::ClaimFeed,
    load,
    report::{Figure, Status},
    server::{Launch, Server, Target},
    stats::Summary,
};

mod outbox;

use self::outbox::Metrics;
pub use self::outbox::{Bounded, Outbox, slope};

/// Jobs one claim makes: check_coverage, triage, snapshot, notify (each
/// enqueued when the one before completes).
const STEPS_PER_CLAIM: f64 = 4.0;
/// Budget: steps done per second at least the steps ingestion creates.
const KEEPS_UP_MIN: f64 = 100.0;
/// The soak's rate, as a share of the burst's.
const SOAK_SHARE: f64 = 0.8;
/// How often the drain reads `/metrics`.
const DRAIN_POLL: Duration = Duration::from_millis(250);
/// The soak's samples of the backlog: at most this far apart.
const SOAK_SAMPLE_MAX: Duration = Duration::from_secs(5);
/// The soak's reference sample is taken this far in (once the pipeline has
/// warmed up), or at a tenth of a soak shorter than ten times this.
const SOAK_REFERENCE_AT: f64 = 5.0;
/// Jobs of slack in the bounded rule, so that a near-empty reference does
/// not turn noise into a MISS.
const SOAK_SLACK: f64 = 100.0;
/// What each worker logs when it starts (`app::workflow::ssr::worker_loop`):
/// counted in the server's log to report how many the default gave.
const WORKER_STARTED: &str = "workflow worker started";

/// How long the pipeline phase's parts last.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub clients: usize,
    /// `VANGUARD_WORKERS` for the phase's server; `None`: the server's
    /// default.
    pub workers: Option<u32>,
    pub burst: Duration,
    /// A drain still running after this is a MISS, not an error.
    pub drain_timeout: Duration,
    /// `None` without `--soak`.
    pub soak: Option<Duration>,
}

impl Plan {
    /// A 60 s burst drained within 10 minutes, and a 10-minute soak; in a
    /// smoke run 2 s, 45 s and 3 s, so the phase adds under a minute.
    /// `soak_seconds` is `None` without `--soak`, else `--soak-seconds`.
    pub fn from_args(
        clients: usize,
        smoke: bool,
        workers: Option<u32>,
        burst_seconds: Option<f64>,
        soak_seconds: Option<Option<f64>>,
    ) -> Self {
        let (burst, drain, soak) = if smoke {
            (2.0, 45.0, 3.0)
        } else {
            (60.0, 600.0, 600.0)
        };
        let seconds = |s: f64| Duration::from_secs_f64(s.max(0.1));
        Self {
            clients,
            workers,
            burst: seconds(burst_seconds.unwrap_or(burst)),
            drain_timeout: seconds(drain),
            soak: soak_seconds.map(|s| seconds(s.unwrap_or(soak))),
        }
    }

    /// The line of the report's settings.
    pub fn describe(&self) -> String {
        format!(
            "pipeline phase: a server of its own on a fresh database, {}; a {:.0} s burst, \
             `/metrics` read every {} ms for up to {:.0} s of drain{}",
            workers_setting(self.workers),
            self.burst.as_secs_f64(),
            DRAIN_POLL.as_millis(),
            self.drain_timeout.as_secs_f64(),
            self.soak.map_or_else(
                || "; no soak (`--soak`)".to_owned(),
                |soak| format!(
                    "; a {:.0} s soak at {:.0} % of the burst's rate",
                    soak.as_secs_f64(),
                    SOAK_SHARE * 100.0
                )
            )
        )
    }
}

/// `VANGUARD_WORKERS=N`, or that it was left to the server's default.
pub fn workers_setting(workers: Option<u32>) -> String {
    workers.map_or_else(
        || "`VANGUARD_WORKERS` not set (the server's default)".to_owned(),
        |n| format!("`VANGUARD_WORKERS={n}`"),
    )
}

/// Figures and notes for the engine's table.
#[derive(Debug, Default)]
pub struct Outcome {
    pub figures: Vec<Figure>,
    pub notes: Vec<String>,
}

/// The burst: what was ingested and the outbox around it.
struct Burst {
    ingest: Summary,
    /// Claims answered 202 during the burst, including the last answers
    /// after the window that `ingest` does not count.
    accepted: usize,
    /// Between the scrapes `before` and `after`.
    wall: Duration,
    before: Outbox,
    after: Outbox,
}

/// The drain after the burst.
struct Drain {
    wall: Duration,
    drained: bool,
    last: Outbox,
}

/// The soak: its ingestion, the backlog series and the outbox around it.
struct Soak {
    rate: f64,
    ingest: Summary,
    period: Duration,
    /// Seconds since the start of the soak, backlog in jobs.
    backlog: Vec<(f64, f64)>,
    wall: Duration,
    before: Outbox,
    after: Outbox,
}

/// Starts the phase's server on `target` (with `plan.workers`), runs the
/// burst, the drain and the soak against it, and stops it.
pub async fn measure(target: &Target, launch: &Launch, plan: Plan) -> anyhow::Result<Outcome> {
    let launch = Launch {
        workers: plan.workers,
        ..launch.clone()
    };
    eprintln!(
        "bench:   pipeline: {}, {:.0} s burst, drain{}",
        workers_setting(plan.workers),
        plan.burst.as_secs_f64(),
        if plan.soak.is_some() { ", soak" } else { "" }
    );
    let (mut server, _) = Server::start(target, &launch, &crate::probe_client()?, "pipeline")
        .await
        .context("the pipeline phase's server")?;
    let measured = phases(target, &launch, &server, plan).await;
    let (burst, drain, soak) = match measured {
        Ok(measured) => measured,
        Err(error) => {
            crate::explain_failure(&mut server);
            return Err(error);
        }
    };
    let workers = server.log_lines_with(WORKER_STARTED);
    server.stop().await?;
    Ok(outcome(plan, workers, &burst, &drain, soak.as_ref()))
}

async fn phases(
    target: &Target,
    launch: &Launch,
    server: &Server,
    plan: Plan,
) -> anyhow::Result<(Burst, Drain, Option<Soak>)> {
    let client = crate::load_client()?;
    let feed = ClaimFeed::prepare(target, launch, server, client.clone(), plan.clients).await?;
    let metrics = Metrics {
        client,
        url: server.url("/metrics"),
    };
    let burst = burst(&feed, &metrics, plan).await?;
    eprintln!(
        "bench:   pipeline: {} jobs outstanding after the burst, draining",
        burst.after.backlog()
    );
    let drain = drain(&metrics, plan.drain_timeout).await?;
    let soak = match plan.soak {
        Some(duration) => Some(soak(&feed, &metrics, burst.ingest.rate(), duration).await?),
        None => None,
    };
    Ok((burst, drain, soak))
}

/// Closed-loop ingestion at full rate for `plan.burst`, every claim counted
/// (there is no warm-up: the workers start on the first claim).
async fn burst(feed: &ClaimFeed, metrics: &Metrics, plan: Plan) -> anyhow::Result<Burst> {
    let accepted = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let before = metrics.outbox().await?;
    let ingest = {
        let (feed, accepted) = (feed.clone(), Arc::clone(&accepted));
        load::closed_loop(
            plan.clients,
            Duration::ZERO,
            plan.burst,
            move |client, seq| {
                let (feed, accepted) = (feed.clone(), Arc::clone(&accepted));
                async move {
                    feed.submit(client, &format!("burst-{client}-{seq}"))
                        .await?;
                    accepted.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
            },
        )
        .await
        .context("the pipeline's ingestion burst")?
    };
    let wall = started.elapsed();
    let after = metrics.outbox().await?;
    Ok(Burst {
        ingest,
        accepted: accepted.load(Ordering::Relaxed),
        wall,
        before,
        after,
    })
}

/// Reads `/metrics` every [`DRAIN_POLL`] until no job is pending or running,
/// or `timeout` has passed.
async fn drain(metrics: &Metrics, timeout: Duration) -> anyhow::Result<Drain> {
    let started = Instant::now();
    let mut ticks = tokio::time::interval(DRAIN_POLL);
    loop {
        ticks.tick().await;
        let wall = started.elapsed();
        let last = metrics.outbox().await?;
        if last.backlog() == 0 || wall >= timeout {
            return Ok(Drain {
                wall,
                drained: last.backlog() == 0,
                last,
            });
        }
    }
}

/// Open-loop ingestion at [`SOAK_SHARE`] of `capacity` claims/s for
/// `duration`, the backlog sampled throughout.
async fn soak(
    feed: &ClaimFeed,
    metrics: &Metrics,
    capacity: f64,
    duration: Duration,
) -> anyhow::Result<Soak> {
    let rate = capacity * SOAK_SHARE;
    let period = (duration / 120).clamp(DRAIN_POLL, SOAK_SAMPLE_MAX);
    eprintln!(
        "bench:   pipeline: soak at {rate:.0} claims/s for {:.0} s",
        duration.as_secs_f64()
    );
    let started = Instant::now();
    let before = metrics.outbox().await?;
    let sampler = {
        let metrics = metrics.clone();
        load::Sampler::start(period, move || {
            let metrics = metrics.clone();
            async move { metrics.scrape().await }
        })
    };
    let ingest = {
        let feed = feed.clone();
        load::open_loop(rate, duration, move |seq| {
            let feed = feed.clone();
            async move {
                let index = usize::try_from(seq).unwrap_or_default();
                feed.submit(index, &format!("soak-{seq}")).await.map(drop)
            }
        })
        .await
        .context("the pipeline soak")?
    };
    let samples = sampler.stop().await?;
    let wall = started.elapsed();
    let after = metrics.outbox().await?;
    let backlog = samples
        .iter()
        .map(|(at, outbox)| (at.as_secs_f64(), outbox.backlog() as f64))
        .chain([(wall.as_secs_f64(), after.backlog() as f64)])
        .collect();
    Ok(Soak {
        rate,
        ingest,
        period,
        backlog,
        wall,
        before,
        after,
    })
}

/// Jobs done per second between two scrapes `wall` apart.
fn steps_per_second(before: &Outbox, after: &Outbox, wall: Duration) -> f64 {
    let seconds = wall.as_secs_f64();
    if seconds > 0.0 {
        after.done.saturating_sub(before.done) as f64 / seconds
    } else {
        0.0
    }
}

/// Steps done as a share (%) of the steps `claims_per_second` create.
fn keeps_up(steps_per_second: f64, claims_per_second: f64) -> f64 {
    if claims_per_second > 0.0 {
        steps_per_second / (STEPS_PER_CLAIM * claims_per_second) * 100.0
    } else {
        0.0
    }
}

fn outcome(
    plan: Plan,
    workers: usize,
    burst: &Burst,
    drain: &Drain,
    soak: Option<&Soak>,
) -> Outcome {
    let mut out = Outcome::default();
    let burst_steps = steps_per_second(&burst.before, &burst.after, burst.wall);
    let ratio = keeps_up(burst_steps, burst.ingest.rate());
    let done_in_burst = burst.after.done.saturating_sub(burst.before.done);
    let owed = (burst.accepted as u64 * STEPS_PER_CLAIM as u64).saturating_sub(done_in_burst);
    let workers_shown = match workers {
        0 => "workers".to_owned(),
        1 => "1 worker".to_owned(),
        n => format!("{n} workers"),
    };
    let timeout = plan.drain_timeout.as_secs_f64();
    let drain_steps = steps_per_second(&burst.after, &drain.last, drain.wall);
    out.figures.extend([
        Figure::info(
            format!(
                "Pipeline burst: claim ingestion, {} clients, {:.0} s, server with {workers_shown}",
                plan.clients,
                plan.burst.as_secs_f64()
            ),
            burst.ingest.describe("req"),
        ),
        Figure::info(
            "Pipeline steps during the burst",
            format!("{burst_steps:.0} steps/s ({done_in_burst} jobs done)"),
        ),
        Figure::new(
            "Pipeline keeps up: steps/s ÷ (4 × claims/s), burst",
            format!("{ratio:.0} %"),
            format!("≥ {KEEPS_UP_MIN:.0} %"),
            Status::of(ratio >= KEEPS_UP_MIN),
        ),
        Figure::info(
            "Outbox backlog at the end of the burst (pending + running)",
            format!(
                "{} jobs · {owed} steps not done · oldest pending {} s",
                burst.after.backlog(),
                burst.after.oldest_pending_seconds
            ),
        ),
        Figure::new(
            "Backlog drained after the burst",
            if drain.drained {
                format!(
                    "in {:.1} s ({drain_steps:.0} steps/s)",
                    drain.wall.as_secs_f64()
                )
            } else {
                format!(
                    "not in {:.0} s: {} jobs left ({drain_steps:.0} steps/s)",
                    drain.wall.as_secs_f64(),
                    drain.last.backlog()
                )
            },
            format!("≤ {timeout:.0} s"),
            Status::of(drain.drained),
        ),
    ]);
    out.notes.push(format!(
        "Pipeline phase: {}; its log reported {}.",
        workers_setting(plan.workers),
        if workers > 0 {
            format!("{workers_shown} started")
        } else {
            format!("no `{WORKER_STARTED}` line (no worker, or it logs otherwise)")
        }
    ));
    if ratio < KEEPS_UP_MIN && burst_steps > 0.0 {
        out.notes.push(format!(
            "At {burst_steps:.0} steps/s the pipeline sustains about {:.0} claims/s of ingestion; \
             the burst brought {:.0}.",
            burst_steps / STEPS_PER_CLAIM,
            burst.ingest.rate()
        ));
    }
    match soak {
        Some(soak) => soak_figures(&mut out, plan, soak, drain),
        None => out.figures.push(Figure::new(
            "Soak at 80 % of the burst's rate (`--soak`)",
            "not run",
            "outbox bounded",
            Status::Skipped,
        )),
    }
    let last = soak.map_or(&drain.last, |soak| &soak.after);
    if last.dead > 0 {
        out.notes.push(format!(
            "{} pipeline jobs ended `dead` (a step failed on every attempt): the server's log says \
             why; they count as finished for the drain.",
            last.dead
        ));
    }
    out
}

fn soak_figures(out: &mut Outcome, plan: Plan, soak: &Soak, drain: &Drain) {
    let duration = plan.soak.unwrap_or(soak.wall).as_secs_f64();
    let steps = steps_per_second(&soak.before, &soak.after, soak.wall);
    let jobs = |at: Option<&(f64, f64)>| at.map_or(0.0, |(_, jobs)| *jobs);
    let max = soak
        .backlog
        .iter()
        .map(|(_, jobs)| *jobs)
        .fold(0.0, f64::max);
    out.figures.push(Figure::info(
        format!(
            "Soak: open loop at {:.0} % of the burst's rate ({:.0} claims/s), {duration:.0} s",
            SOAK_SHARE * 100.0,
            soak.rate
        ),
        format!(
            "{} · {steps:.0} steps/s ({:.0} %)",
            soak.ingest.describe("req"),
            keeps_up(steps, soak.ingest.rate())
        ),
    ));
    let (budget, status) = match Bounded::judge(&soak.backlog, duration) {
        Some(verdict) => (
            format!(
                "2nd half ≤ 2 × {:.0} (at {:.1} s) + {SOAK_SLACK:.0} = {:.0}",
                verdict.reference, verdict.reference_at, verdict.limit
            ),
            Status::of(verdict.bounded),
        ),
        None => ("bounded".to_owned(), Status::Skipped),
    };
    // Requests that timed out or failed mean the soak's rate was more than
    // the server could take: not a bounded outbox, whatever it shows.
    let status = if soak.ingest.failed > 0 {
        out.notes.push(format!(
            "{} of the soak's requests failed (the first: {}): the server could not take the \
             soak's rate alongside its pipeline.",
            soak.ingest.failed,
            soak.ingest
                .first_failure
                .as_deref()
                .unwrap_or("no error kept")
        ));
        Status::Miss
    } else {
        status
    };
    out.figures.push(Figure::new(
        format!(
            "Soak: outbox backlog (pending + running), every {:.2} s",
            soak.period.as_secs_f64()
        ),
        format!(
            "start {:.0} · max {max:.0} · end {:.0} · slope {:+.2} jobs/s",
            jobs(soak.backlog.first()),
            jobs(soak.backlog.last()),
            slope(&soak.backlog)
        ),
        budget,
        status,
    ));
    if !drain.drained {
        out.notes.push(
            "The soak started before the burst's backlog had drained, so its backlog includes \
             the burst's."
                .into(),
        );
    }
}

#[cfg(test)]
mod tests;
