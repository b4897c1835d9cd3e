//! Building the application (database, state, router, listener) and running
//! it until a shutdown signal, in the shape of zero2prod's `Application`.

use std::{future::Future, net::SocketAddr};

use std::sync::Arc;

use anyhow::Context as _;
use axum::{
    Router,
    middleware::{from_fn, from_fn_with_state},
};
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

use app::{
    App,
    audit::signing::AuditSigner,
    auth::ssr::{AuthSettings, sessions::SqlSessionStore, throttle},
    db::Db,
    lifecycle::Lifecycle,
    retention::{Pruned, RetentionSettings},
    shell,
    state::AppState,
    storage::Storage,
    vault::Vault,
    webhooks::{ssr::WebhookClient, target::TargetPolicy},
    workflow::ssr::{self as workflow, JobSignal},
};

use crate::{
    api, attachments,
    config::{Config, StorageUrl, load_key},
    exports, health,
    middleware::{self, HttpPolicy},
    serve,
};

/// How often expired sessions and stale rate-limit windows are removed.
const MAINTENANCE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// The session cookie. `__Host-` (Secure, Path=/, no Domain) whenever the
/// browser will accept it: over HTTPS, and on loopback, which browsers
/// treat as a secure context. Plain HTTP to another host (a LAN demo) gets
/// an unprefixed, non-Secure cookie and a warning at start-up.
#[derive(Debug, Clone)]
pub struct CookiePolicy {
    pub name: &'static str,
    pub secure: bool,
}

impl CookiePolicy {
    pub fn for_origin(origin: &str) -> Self {
        let secure = url::Url::parse(origin).is_ok_and(|url| {
            url.scheme() == "https"
                || match url.host() {
                    Some(url::Host::Domain(domain)) => domain == "localhost",
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                }
        });
        if secure {
            Self {
                name: "__Host-vanguard",
                secure: true,
            }
        } else {
            Self {
                name: "vanguard_session",
                secure: false,
            }
        }
    }
}

/// A bound, migrated, ready-to-serve Vanguard.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    /// The claims pipeline's workers in this process.
    workers: Vec<tokio::task::JoinHandle<()>>,
    drain_delay: std::time::Duration,
    shutdown_timeout: std::time::Duration,
    connections: serve::ConnectionLimits,
}

impl Application {
    /// Connects and migrates the database, resolves the keys and binds the
    /// listener (port 0 picks a free port, as the tests do).
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let state = build_state(config).await?;
        let listener = TcpListener::bind(config.site_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.site_addr))?;
        let public_origin = config.public_origin_for(listener.local_addr()?);
        let cookie = CookiePolicy::for_origin(&public_origin);
        if !cookie.secure {
            tracing::warn!(
                origin = %public_origin,
                "the public origin is plain HTTP on a non-loopback host: the session cookie \
                 cannot be Secure. Serve Vanguard over HTTPS (set VANGUARD_PUBLIC_ORIGIN)."
            );
        }
        let policy = HttpPolicy {
            public_origin,
            live_reload_port: config.live_reload_port,
            trusted_proxies: config.security.trusted_proxies.clone(),
        };
        spawn_maintenance(state.db.clone(), config.retention.clone());
        workflow::spawn_counter(state.db.clone(), state.admission.clone());
        let workers = spawn_workers(&state, config).await?;
        Ok(Self {
            router: middleware::apply(router(state.clone(), &cookie), policy),
            listener,
            state,
            workers,
            drain_delay: config.drain_delay,
            shutdown_timeout: config.shutdown_timeout,
            connections: config.connections,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `signal` resolves, then: readiness flips to 503 while
    /// the listener keeps serving for the drain delay; then the listener
    /// closes (after accepting what the kernel already queued), in-flight
    /// requests and in-process workers finish (together bounded by the
    /// shutdown timeout), and the database pool closes. Fails, after the same
    /// clean-up, when requests were abandoned at the shutdown timeout.
    pub async fn run_until_stopped(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self {
            listener,
            router,
            state,
            workers,
            drain_delay,
            shutdown_timeout,
            connections,
        } = self;
        let lifecycle = state.lifecycle.clone();
        let stop_accepting = async move {
            signal.await;
            tracing::info!(
                drain_delay_ms = drain_delay.as_millis() as u64,
                "shutdown requested; readiness now reports 503"
            );
            lifecycle.start_draining();
            tokio::time::sleep(drain_delay).await;
        };
        let drained = serve::serve(
            listener,
            router,
            connections,
            stop_accepting,
            shutdown_timeout,
        )
        .await;
        // The workers stopped taking jobs at the signal; they share what is
        // left of the shutdown timeout, so the whole stop stays within drain
        // delay + shutdown timeout.
        let deadline = drained.deadline;
        stop_workers(
            &state,
            workers,
            deadline.saturating_duration_since(tokio::time::Instant::now()),
        )
        .await;
        state.db.close().await;
        if drained.abandoned > 0 {
            tracing::error!(
                abandoned = drained.abandoned,
                timeout_ms = shutdown_timeout.as_millis() as u64,
                "requests still in flight at the shutdown timeout were abandoned"
            );
            return Err(std::io::Error::other(format!(
                "{} request(s) still in flight at the shutdown timeout ({} ms) were abandoned",
                drained.abandoned,
                shutdown_timeout.as_millis()
            )));
        }
        tracing::info!("shutdown complete");
        Ok(())
    }
}

/// Names the API clients that see every organisation only because they
/// predate partner tenancy (migration 0008 made them internal to keep their
/// behaviour): each should be reissued for its partner.
async fn warn_about_migrated_internal_clients(db: &Db) -> anyhow::Result<()> {
    let names = app::auth::ssr::clients::migrated_internal(db.pool()).await?;
    if !names.is_empty() {
        tracing::warn!(
            clients = %names.join(", "),
            "API clients issued before partner tenancy are internal (they see every organisation); \
             issue each partner its own client with `server create-api-client --partner SLUG` and revoke these"
        );
    }
    Ok(())
}

/// Connects and migrates the database and resolves the keys and storage:
/// everything a web server or a worker-only process needs.
pub async fn build_state(config: &Config) -> anyhow::Result<AppState> {
    let db = Db::connect(&config.database_url, &config.pool).await?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    warn_about_migrated_internal_clients(&db).await?;
    warn_about_development_keys(config)?;
    let (jwt_secret, _) = load_key(&config.jwt_secret, "VANGUARD_JWT_SECRET")?;
    let vault = open_vault(&db, config).await?;
    let audit = audit_signer(config)?;
    let storage = match &config.storage {
        StorageUrl::Local(dir) => Storage::local(dir)?,
        StorageUrl::S3 { bucket, prefix } => Storage::s3(bucket, prefix)?,
    };

    let security = &config.security;
    let mut auth = AuthSettings::new(jwt_secret.expose());
    auth.session_idle = security.session_idle;
    auth.session_absolute = security.session_absolute;
    auth.access_token_ttl = security.access_token_ttl;
    auth.login_limit = throttle::Limit::per_minute(security.login_rate_per_minute);
    auth.api_limit = throttle::Limit::per_minute(security.api_rate_per_minute);
    auth.require_mfa = security.require_mfa;
    auth.identity = Arc::new(app::auth::ssr::identity::IdentityCache::new(
        security.identity_cache,
    ));

    Ok(AppState {
        leptos_options: crate::assets::versioned(config.leptos_options()),
        db,
        lifecycle: Lifecycle::default(),
        auth: Arc::new(auth),
        vault: Arc::new(vault),
        audit: Arc::new(audit),
        storage,
        attachment_max_bytes: config.attachment_max_bytes,
        webhook_client: WebhookClient::new(TargetPolicy::new(
            config.security.webhook_allow_hosts.clone(),
        ))?,
        jobs: JobSignal::default(),
        admission: workflow::Admission::new(config.intake_max_backlog),
        environment_banner: config.environment_banner.as_deref().map(Arc::from),
    })
}

/// The background work of a process that runs workers (web server or
/// `server worker`): the pipeline's workers and the audit sealer, on a
/// database pool of their own, so that web requests that take every web
/// connection cannot stall them. On SQLite that matters twice over: a
/// writer waits for its connection holding the write turn, so a sealer
/// waiting on an exhausted web pool would have held up every worker.
pub async fn spawn_workers(
    state: &AppState,
    config: &Config,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    if config.workers.concurrency == 0 {
        return Ok(Vec::new());
    }
    let pool = app::db::PoolSettings {
        // One more for the sealer.
        max_connections: config.workers.connections_needed() + 1,
        ..config.pool.clone()
    };
    let mut background = state.clone();
    background.db = state
        .db
        .with_own_pool(&config.database_url, &pool)
        .await
        .context("cannot open the workflow workers' database pool")?;
    let mut handles = workflow::spawn_workers(&background.pipeline(), &config.workers);
    handles.extend(spawn_sealer(&background, config));
    Ok(handles)
}

/// The audit checkpoint signer: `VANGUARD_AUDIT_SIGNING_KEY`, or else a key
/// derived from the master key (logged once: production should set its own,
/// so that the vault's key and the audit key can be held apart).
pub fn audit_signer(config: &Config) -> anyhow::Result<AuditSigner> {
    if let Some(seed) = &config.audit_signing_key {
        return Ok(AuditSigner::from_seed(seed.expose()));
    }
    let (master_key, _) = load_key(&config.master_key, "VANGUARD_MASTER_KEY")?;
    tracing::info!(
        "VANGUARD_AUDIT_SIGNING_KEY is not set: audit checkpoints are signed with a key derived \
         from VANGUARD_MASTER_KEY. Production should set its own (base64 of a 32-byte seed)."
    );
    Ok(AuditSigner::derived_from_master_key(master_key.expose()))
}

/// Audit records are sealed into checkpoints by the processes that run
/// workers, unless sealing is switched off for them.
fn spawn_sealer(state: &AppState, config: &Config) -> Option<tokio::task::JoinHandle<()>> {
    let interval = config.audit_seal_interval?;
    Some(app::audit::seal::spawn_sealer(
        state.db.clone(),
        Arc::clone(&state.audit),
        state.storage.clone(),
        state.lifecycle.clone(),
        interval,
    ))
}

/// Lets each worker finish the step it is on (bounded by `timeout`; a step
/// cut short is leased again by another worker later).
pub async fn stop_workers(
    state: &AppState,
    workers: Vec<tokio::task::JoinHandle<()>>,
    timeout: std::time::Duration,
) {
    state.lifecycle.start_draining();
    for _ in &workers {
        state.jobs.notify();
    }
    let all = async {
        for worker in workers {
            if let Err(error) = worker.await {
                tracing::error!(%error, "a workflow worker panicked");
            }
        }
    };
    if tokio::time::timeout(timeout, all).await.is_err() {
        tracing::warn!("workflow workers still busy at the shutdown timeout");
    }
}

/// The page routes, listed once per process. Why once: listing them runs
/// the whole app with a *process-wide* flag set (leptos_server's
/// `SuppressResourceLoad`), and a resource first polled by any request
/// while that flag is up waits forever (leptos-rs/leptos#4773). A second
/// application in the same process (a replica in the tests, each test's
/// own app) must not list them while another one serves.
static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();

/// The whole HTTP surface (without the middleware of [`middleware::apply`]):
///
/// * health probes: no session, no authentication;
/// * the JSON API: bearer tokens, no session layer at all;
/// * the browser surface (pages, server functions, static files, the 404
///   page): sessions, the signed-in principal, and the sign-in gate in front
///   of every page.
pub fn router(state: AppState, cookie: &CookiePolicy) -> Router {
    let routes = ROUTES.get_or_init(|| generate_route_list(App)).clone();
    let options = state.leptos_options.clone();
    let idle =
        time::Duration::try_from(state.auth.session_idle).unwrap_or(time::Duration::MINUTE * 30);
    let sessions = SessionManagerLayer::new(SqlSessionStore::new(state.db.clone()))
        .with_name(cookie.name)
        .with_secure(cookie.secure)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle));
    let browser = Router::new()
        .merge(exports::routes())
        .merge(attachments::browser_routes())
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .route_layer(from_fn_with_state(
            middleware::server_fns::ServerFnPaths::registered(),
            middleware::server_fns::guard,
        ))
        .route_layer(from_fn(middleware::auth::require_sign_in))
        .fallback(crate::assets::static_file)
        .layer(from_fn_with_state(
            state.clone(),
            middleware::auth::resolve_principal,
        ))
        .layer(sessions);
    Router::new()
        .merge(health::router())
        .merge(crate::metrics::routes())
        .merge(api::router())
        .merge(attachments::api_routes())
        .merge(browser)
        .with_state(state)
}

/// Removes expired sessions, stale rate-limit windows, and done jobs and
/// idempotent responses past their retention, now and then; every replica
/// runs it, which is harmless (idempotent deletes).
fn spawn_maintenance(db: Db, retention: RetentionSettings) {
    tokio::spawn(async move {
        let store = SqlSessionStore::new(db.clone());
        let mut interval = tokio::time::interval(MAINTENANCE_INTERVAL);
        loop {
            interval.tick().await;
            if let Err(error) = store.delete_expired().await {
                tracing::warn!(%error, "could not delete expired sessions");
            }
            if let Err(error) = throttle::purge_stale(&db).await {
                tracing::warn!(%error, "could not purge rate-limit windows");
            }
            match app::retention::prune(&db, &retention).await {
                Ok(pruned) if pruned != Pruned::default() => tracing::info!(
                    jobs = pruned.jobs,
                    idempotency_keys = pruned.idempotency_keys,
                    "pruned rows past their retention"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "could not prune rows past their retention"),
            }
        }
    });
}

/// Resolves both keys now, so a development key exists from the first run
/// and a broken key file fails start-up rather than the first request.
fn warn_about_development_keys(config: &Config) -> anyhow::Result<()> {
    for (source, variable) in [
        (&config.master_key, "VANGUARD_MASTER_KEY"),
        (&config.jwt_secret, "VANGUARD_JWT_SECRET"),
    ] {
        let (_, development) = load_key(source, variable)?;
        if development && let crate::config::KeySource::DevFile(path) = source {
            tracing::warn!(
                file = %path.display(),
                "{variable} is not set: using a DEVELOPMENT key stored on local disk. \
                 Never use it for real data; set {variable} (base64 of 32 random bytes)."
            );
        }
    }
    Ok(())
}

/// The PII vault with the configured master keys (fails start-up when the
/// keys cannot open what the database holds: a wrong key must not run).
pub async fn open_vault(db: &Db, config: &Config) -> anyhow::Result<Vault> {
    let (master_key, _) = load_key(&config.master_key, "VANGUARD_MASTER_KEY")?;
    let previous: Vec<[u8; 32]> = config
        .previous_master_keys
        .iter()
        .map(|key| *key.expose())
        .collect();
    Vault::open(db, master_key.expose(), &previous)
        .await
        .context(
            "cannot open the PII vault with VANGUARD_MASTER_KEY (and VANGUARD_MASTER_KEY_PREVIOUS)",
        )
}

/// Resolves on Ctrl-C or SIGTERM (what ECS and Railway send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
