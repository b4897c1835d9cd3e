//! The load phases run against one engine's server: ingestion, half load,
//! reads, one replica against two, and the server-rendered pages.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context as _;

use crate::{
    Plan, SSR_ROWS, bare, explain_failure, fixtures,
    fixtures::ClaimFeed,
    load, load_client, probe_client, replicas, server,
    server::{Engine, Launch, Server, Target},
    statements,
    stats::Summary,
};

pub(crate) struct Loaded {
    pub(crate) ingest: Summary,
    pub(crate) half: Summary,
    pub(crate) read: Summary,
    /// The same reads from the bare axum + sqlx server.
    pub(crate) bare_read: Summary,
    /// PostgreSQL: ingestion through one replica, then through two.
    pub(crate) replicas: Option<(Summary, Summary)>,
    pub(crate) statements: statements::PerRequest,
    pub(crate) ssr: Summary,
    /// The same requests, to the answer's headers.
    pub(crate) ssr_first_byte: Summary,
    /// A new connection for every page.
    pub(crate) ssr_fresh: Summary,
    pub(crate) rows: usize,
    pub(crate) claims: usize,
    pub(crate) rss_peak: u64,
}

/// Everything measured against the running server.
pub(crate) async fn load_phases(
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
