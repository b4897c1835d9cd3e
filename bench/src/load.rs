//! Load generators: a closed loop (N clients, each sending its next request
//! when the previous one answered) and an open loop (requests sent on a
//! fixed schedule whatever the answers do, latency counted from the
//! scheduled moment so a slow server cannot hide its queue); and a sampler
//! that reads a figure at intervals while they run.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use tokio::sync::Notify;

use crate::stats::Summary;

/// `clients` concurrent loops of `op(client, sequence)` for `warmup` (not
/// recorded) and then `window`. The first failing request fails the phase.
pub async fn closed_loop<F, Fut>(
    clients: usize,
    warmup: Duration,
    window: Duration,
    op: F,
) -> anyhow::Result<Summary>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let (summary, _) = closed_loop_timed(clients, warmup, window, move |client, sequence| {
        let op = Arc::clone(&op);
        async move { op(client, sequence).await.map(|()| None) }
    })
    .await?;
    Ok(summary)
}

/// [`closed_loop`] whose `op` may also report a partial time of its own
/// (e.g. to the first byte of the answer); those make the second summary.
pub async fn closed_loop_timed<F, Fut>(
    clients: usize,
    warmup: Duration,
    window: Duration,
    op: F,
) -> anyhow::Result<(Summary, Summary)>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<Option<Duration>>> + Send + 'static,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let measure_from = started + warmup;
    let end = measure_from + window;
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let op = Arc::clone(&op);
        tasks.spawn(async move {
            let (mut latencies, mut partials) = (Vec::new(), Vec::new());
            let mut sequence = 0_u64;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let partial = op(client, sequence).await?;
                let done = Instant::now();
                if sent >= measure_from && done <= end {
                    latencies.push(done - sent);
                    partials.extend(partial);
                }
                sequence += 1;
            }
            anyhow::Ok((latencies, partials))
        });
    }
    let (mut latencies, mut partials) = (Vec::new(), Vec::new());
    while let Some(joined) = tasks.join_next().await {
        let (mut client, mut client_partials) = joined.context("a load client panicked")??;
        latencies.append(&mut client);
        partials.append(&mut client_partials);
    }
    Ok((
        Summary::new(latencies, window),
        Summary::new(partials, window),
    ))
}

/// `op(sequence)` at `rate` per second for `window`, each request on its
/// own task; a request's latency runs from its scheduled send time to its
/// answer. A request that fails (an error answer, a timeout) is counted in
/// [`Summary::failed`] and the load goes on: an overloaded server is a
/// finding to report, not a reason to stop measuring.
pub async fn open_loop<F, Fut>(rate: f64, window: Duration, op: F) -> anyhow::Result<Summary>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    anyhow::ensure!(rate > 0.0, "the open-loop rate must be positive");
    let op = Arc::new(op);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let total = (rate * window.as_secs_f64()).floor().max(1.0) as u64;
    let started = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut latencies = Vec::with_capacity(usize::try_from(total).unwrap_or_default());
    let mut failures = Failures::default();
    for sequence in 0..total {
        let due = started + interval.mul_f64(sequence as f64);
        tokio::time::sleep_until(due).await;
        let op = Arc::clone(&op);
        tasks.spawn(async move {
            op(sequence).await?;
            anyhow::Ok(due.elapsed())
        });
        // Reap finished requests as we go.
        while let Some(joined) = tasks.try_join_next() {
            failures.reap(joined, &mut latencies)?;
        }
    }
    while let Some(joined) = tasks.join_next().await {
        failures.reap(joined, &mut latencies)?;
    }
    let mut summary = Summary::new(latencies, interval.mul_f64(total as f64));
    summary.failed = failures.count;
    summary.first_failure = failures.first;
    Ok(summary)
}

/// The failed requests of an open loop: how many, and the first one's error.
#[derive(Default)]
struct Failures {
    count: usize,
    first: Option<String>,
}

impl Failures {
    fn reap(
        &mut self,
        joined: Result<anyhow::Result<Duration>, tokio::task::JoinError>,
        latencies: &mut Vec<Duration>,
    ) -> anyhow::Result<()> {
        match joined.context("an open-loop request panicked")? {
            Ok(latency) => latencies.push(latency),
            Err(error) => {
                self.count += 1;
                self.first.get_or_insert_with(|| format!("{error:#}"));
            }
        }
        Ok(())
    }
}

/// Calls `sample` every `period` on a task of its own until stopped, and
/// keeps what it returned with the time since the start (`None`: nothing to
/// record this time). For figures that only exist *during* a load phase:
/// the server's memory, the outbox's backlog.
pub struct Sampler<T> {
    stop: Arc<Notify>,
    task: tokio::task::JoinHandle<anyhow::Result<Vec<(Duration, T)>>>,
}

impl<T: Send + 'static> Sampler<T> {
    /// The first sample is taken at once.
    pub fn start<F, Fut>(period: Duration, mut sample: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<Option<T>>> + Send + 'static,
    {
        let stop = Arc::new(Notify::new());
        let stopped = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut samples = Vec::new();
            loop {
                tokio::select! {
                    () = stopped.notified() => break,
                    _ = ticks.tick() => {
                        let at = started.elapsed();
                        if let Some(value) = sample().await? {
                            samples.push((at, value));
                        }
                    }
                }
            }
            Ok(samples)
        });
        Self { stop, task }
    }

    /// Stops sampling (after the sample under way, if any); the samples, or
    /// the first error `sample` returned.
    pub async fn stop(self) -> anyhow::Result<Vec<(Duration, T)>> {
        // A permit is stored when the task is not waiting yet.
        self.stop.notify_one();
        self.task.await.context("a sampler panicked")?
    }
}
