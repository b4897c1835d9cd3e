//! Building the application (database, state, router, listener) and running
//! it until a shutdown signal, in the shape of zero2prod's `Application`.

use std::{future::Future, net::SocketAddr};

use anyhow::Context as _;
use axum::Router;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;

use app::{
    App,
    db::Db,
    shell,
    state::{AppState, Lifecycle},
};

use crate::{
    config::{Config, load_key},
    health,
    middleware::{self, HttpPolicy},
};

/// A bound, migrated, ready-to-serve Vanguard.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    drain_delay: std::time::Duration,
    shutdown_timeout: std::time::Duration,
}

impl Application {
    /// Connects and migrates the database, resolves the keys and binds the
    /// listener (port 0 picks a free port, as the tests do).
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let db = Db::connect(&config.database_url, &config.pool).await?;
        db.migrate()
            .await
            .context("cannot apply database migrations")?;
        warn_about_development_keys(config)?;

        let state = AppState {
            leptos_options: config.leptos_options(),
            db,
            lifecycle: Lifecycle::default(),
        };
        let listener = TcpListener::bind(config.site_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.site_addr))?;
        let policy = HttpPolicy {
            public_origin: config.public_origin_for(listener.local_addr()?),
            live_reload_port: config.live_reload_port,
        };
        Ok(Self {
            router: middleware::apply(router(state.clone()), policy),
            listener,
            state,
            drain_delay: config.drain_delay,
            shutdown_timeout: config.shutdown_timeout,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `signal` resolves, then: readiness flips to 503, after
    /// the drain delay the listener closes, in-flight requests finish (up to
    /// the shutdown timeout), and the database pool closes.
    pub async fn run_until_stopped(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Self {
            listener,
            router,
            state,
            drain_delay,
            shutdown_timeout,
        } = self;
        let lifecycle = state.lifecycle.clone();
        let (closing_tx, closing_rx) = tokio::sync::oneshot::channel::<()>();

        let graceful = async move {
            signal.await;
            tracing::info!("shutdown requested; readiness now reports 503");
            lifecycle.start_draining();
            tokio::time::sleep(drain_delay).await;
            tracing::info!("listener closed; draining in-flight requests");
            let _ = closing_tx.send(());
        };
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(graceful);
        let deadline = async move {
            match closing_rx.await {
                Ok(()) => tokio::time::sleep(shutdown_timeout).await,
                // The server stopped on its own; nothing to bound.
                Err(_) => std::future::pending().await,
            }
        };

        tokio::select! {
            result = server => result?,
            () = deadline => tracing::warn!(
                timeout_ms = shutdown_timeout.as_millis() as u64,
                "requests still in flight at the shutdown timeout; exiting anyway"
            ),
        }
        state.db.close().await;
        tracing::info!("shutdown complete");
        Ok(())
    }
}

/// The whole HTTP surface: health probes, pages, server functions, static
/// files and the 404 page (without the middleware of [`middleware::apply`]).
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        .merge(health::router())
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
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
