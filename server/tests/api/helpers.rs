//! `spawn_app()`: the real router on a random port with its own database.
//!
//! SQLite by default (a fresh file in a temporary directory); a fresh
//! PostgreSQL database when `TEST_DATABASE_URL=postgres://...` is set (created
//! per test, dropped when the test's `TestApp` is dropped). Set `TEST_LOG=1`
//! to see the server's logs.

use serde_json::{Value, json};
use std::{net::SocketAddr, sync::Once};

use app::{audit::ssr::AuditContext, db::DatabaseUrl, state::AppState};
use leptos::server_fn::ServerFn;
use server::{
    config::{Config, LogFormat},
    startup::Application,
    telemetry,
};
use shared::auth::Role;
use tokio::sync::oneshot;

/// A member of staff the test created, with their password.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
}

pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// Keeps cookies, follows no redirects (tests assert on them).
    pub client: reqwest::Client,
    pub state: AppState,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _database: TestDatabase,
    _data_dir: tempfile::TempDir,
}

/// Spawns the application with the test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Lets webhooks reach receivers the tests start on 127.0.0.1 (the
/// development allow-list; without it loopback targets are refused).
pub fn allow_local_webhooks(config: &mut Config) {
    config.security.webhook_allow_hosts = vec!["127.0.0.1".into()];
}

/// Spawns the application after `customize` has adjusted its configuration.
pub async fn spawn_app_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    init_logging();
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let database = TestDatabase::create(&data_dir).await;

    let mut config = Config::from_lookup(|name| match name {
        "LEPTOS_SITE_ADDR" => Some("127.0.0.1:0".into()),
        "VANGUARD_DATA_DIR" => Some(data_dir.path().to_string_lossy().into_owned()),
        _ => None,
    })
    .expect("test configuration is valid");
    config.database_url = database.url.clone();
    // Tests run many applications at once against one PostgreSQL: one
    // worker each (not PostgreSQL's default four) keeps them all within its
    // connection limit.
    config.workers.concurrency = 1;
    customize(&mut config);
    start(config, database, data_dir).await
}

async fn start(config: Config, database: TestDatabase, data_dir: tempfile::TempDir) -> TestApp {
    let application = Application::build(&config)
        .await
        .expect("application builds");
    let addr = application.local_addr().expect("bound address");
    let state = application.state().clone();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async {
        let _ = stopped.await;
    }));

    TestApp {
        address: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            // A hung response fails its test instead of stalling the run.
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("HTTP client"),
        state,
        config,
        shutdown: Some(shutdown),
        server: Some(server),
        _database: database,
        _data_dir: data_dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// A second replica: another application on the same database and
    /// keys, as a second ECS task would be.
    pub async fn spawn_replica(&self) -> TestApp {
        self.spawn_replica_with(|_| {}).await
    }

    /// [`TestApp::spawn_replica`] with its configuration adjusted (a new
    /// master key, say).
    pub async fn spawn_replica_with(&self, customize: impl FnOnce(&mut Config)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let mut config = self.config.clone();
        config.site_addr = "127.0.0.1:0".parse().expect("address");
        customize(&mut config);
        let database = TestDatabase {
            url: self.config.database_url.clone(),
            postgres: None,
        };
        start(config, database, data_dir).await
    }

    /// The key access tokens are signed with (to forge tokens in tests).
    pub fn jwt_secret(&self) -> [u8; 32] {
        let (key, _) = server::config::load_key(&self.config.jwt_secret, "VANGUARD_JWT_SECRET")
            .expect("JWT key");
        *key.expose()
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// A member of staff with `role`, created through the same service as
    /// the Admin page.
    pub async fn create_user(&self, role: Role) -> TestUser {
        let email = format!(
            "{}-{}@example.com",
            role.as_str(),
            uuid::Uuid::now_v7().simple()
        );
        let password = "correct horse battery staple".to_owned();
        let id = app::auth::ssr::create_user(
            &self.state.db,
            &AuditContext::system("test"),
            &email,
            "Test User",
            role.as_str(),
            &password,
        )
        .await
        .expect("user created");
        TestUser {
            id,
            email,
            password,
        }
    }

    /// A client with its own cookie jar, not signed in.
    pub fn new_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            // A hung response fails its test instead of stalling the run.
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("HTTP client")
    }

    /// Posts the sign-in form as the browser's WASM does.
    pub async fn post_login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.post_server_fn(
            client,
            <app::auth::Login as ServerFn>::PATH,
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// A same-origin server-function call with form-encoded arguments.
    pub async fn post_server_fn(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .header("origin", &self.address)
            .form(form)
            .send()
            .await
            .expect("request sent")
    }

    /// A new client signed in as a new user with `role`.
    pub async fn signed_in(&self, role: Role) -> (TestUser, reqwest::Client) {
        let user = self.create_user(role).await;
        let client = self.new_client();
        let response = self.post_login(&client, &user.email, &user.password).await;
        assert_eq!(response.status(), 200, "sign-in succeeds");
        (user, client)
    }

    /// An internal API client with `role` and its secret: it sees every
    /// organisation's records, as every client did before tenancy.
    pub async fn create_api_client(&self, role: Role) -> (String, String) {
        let (client, secret) = app::auth::ssr::create_api_client(
            &self.state.db,
            &AuditContext::system("test"),
            &format!("internal-{}", uuid::Uuid::now_v7().simple()),
            role.as_str(),
            None,
            true,
            None,
        )
        .await
        .expect("API client created");
        (client.id, secret)
    }

    /// A new partner organisation (a broker); returns its id.
    pub async fn create_partner(&self, slug: &str) -> String {
        app::auth::ssr::create_partner(
            &self.state.db,
            &AuditContext::system("test"),
            slug,
            &format!("Partner {slug}"),
            "broker",
            None,
        )
        .await
        .expect("partner created")
        .id
    }

    /// An `api_client` of partner `partner` (id or slug) and its secret.
    pub async fn create_partner_client(&self, partner: &str) -> (String, String) {
        let (client, secret) = app::auth::ssr::create_api_client(
            &self.state.db,
            &AuditContext::system("test"),
            &format!("partner-{}", uuid::Uuid::now_v7().simple()),
            Role::ApiClient.as_str(),
            Some(partner),
            false,
            None,
        )
        .await
        .expect("partner API client created");
        (client.id, secret)
    }

    /// An access token of a new client of partner `partner`.
    pub async fn partner_token(&self, partner: &str) -> String {
        let (id, secret) = self.create_partner_client(partner).await;
        self.client_token(&id, &secret).await
    }

    /// The access token of client `id`.
    pub async fn client_token(&self, id: &str, secret: &str) -> String {
        let response = self
            .token(serde_json::json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret }))
            .await;
        assert_eq!(response.status(), 200, "token issued");
        let body: serde_json::Value = response.json().await.expect("JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// `POST /api/v1/auth/token` with a JSON body.
    pub async fn token(&self, body: serde_json::Value) -> reqwest::Response {
        self.new_client()
            .post(self.url("/api/v1/auth/token"))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    /// An access token for a new API client with `role`.
    pub async fn api_token(&self, role: Role) -> String {
        let (id, secret) = self.create_api_client(role).await;
        let response = self
            .token(serde_json::json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret }))
            .await;
        assert_eq!(response.status(), 200, "token issued");
        let body: serde_json::Value = response.json().await.expect("JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// An access token of a new member of staff with `role` (password grant).
    pub async fn api_token_for_staff(&self, role: Role) -> String {
        let user = self.create_user(role).await;
        let response = self
            .token(serde_json::json!({ "grant_type": "password", "username": user.email, "password": user.password }))
            .await;
        assert_eq!(response.status(), 200, "token issued");
        let body: serde_json::Value = response.json().await.expect("JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// The audit actions recorded so far, oldest first.
    pub async fn audit_actions(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq")
            .fetch_all(self.state.db.pool())
            .await
            .expect("audit log readable")
    }

    /// Sends the shutdown signal without waiting.
    pub fn signal_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    pub async fn wait_stopped(&mut self) -> std::io::Result<()> {
        match self.server.take() {
            Some(server) => server.await.expect("server task did not panic"),
            None => Ok(()),
        }
    }
}

fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            // Lives as long as the test process; never flushed (no export here).
            std::mem::forget(telemetry::init(LogFormat::Pretty));
        }
    });
}

/// The `TEST_DATABASE_URL` when it names PostgreSQL.
pub fn postgres_admin_url() -> Option<url::Url> {
    let raw = std::env::var("TEST_DATABASE_URL").ok()?;
    match DatabaseUrl::parse(&raw) {
        Ok(DatabaseUrl::Postgres(url)) => Some(url),
        Ok(DatabaseUrl::Sqlite(_)) => None,
        Err(error) => panic!("TEST_DATABASE_URL: {error}"),
    }
}

/// The PostgreSQL of `TEST_DATABASE_URL`, for a test that means nothing on
/// SQLite. Such tests are `#[ignore = "needs PostgreSQL…"]`, so a plain
/// `cargo test` lists them as ignored; the PostgreSQL run includes them
/// (`-- --include-ignored`), and one run on SQLite by mistake fails here
/// rather than passing without testing anything.
pub fn require_postgres() -> url::Url {
    postgres_admin_url().unwrap_or_else(|| {
        panic!(
            "this test needs PostgreSQL: run it with TEST_DATABASE_URL=postgres://… \
             cargo test -- --include-ignored"
        )
    })
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    postgres: Option<(url::Url, String)>,
}

impl TestDatabase {
    pub async fn create(data_dir: &tempfile::TempDir) -> Self {
        let Some(admin_url) = postgres_admin_url() else {
            return Self {
                url: DatabaseUrl::Sqlite(data_dir.path().join("vanguard.db")),
                postgres: None,
            };
        };
        use sqlx::{Connection as _, Executor as _};
        let name = format!("vanguard_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(admin_url.as_str())
            .await
            .expect("TEST_DATABASE_URL is reachable");
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .expect("test database created");
        let mut url = admin_url.clone();
        url.set_path(&name);
        Self {
            url: DatabaseUrl::Postgres(url),
            postgres: Some((admin_url, name)),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any async context we can await in: use a thread
        // with its own runtime. FORCE ends the app's pooled connections.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                use sqlx::{Connection as _, Executor as _};
                let mut admin = sqlx::PgConnection::connect(admin_url.as_str())
                    .await
                    .map_err(std::io::Error::other)?;
                admin
                    .execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str())
                    .await
                    .map_err(std::io::Error::other)?;
                Ok::<_, std::io::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop a test database (.ci/run sweeps leftovers)");
        }
    }
}

/// A TCP forwarder between the application and PostgreSQL that can be cut
/// and restored, to simulate a database outage without touching the shared
/// server.
pub struct FlakyProxy {
    pub addr: SocketAddr,
    state: std::sync::Arc<std::sync::Mutex<ProxyState>>,
}

#[derive(Default)]
struct ProxyState {
    up: bool,
    connections: Vec<tokio::task::AbortHandle>,
}

impl FlakyProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let state = std::sync::Arc::new(std::sync::Mutex::new(ProxyState {
            up: true,
            connections: Vec::new(),
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut guard = shared.lock().expect("proxy state");
                if !guard.up {
                    continue; // dropping `inbound` refuses the connection
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                guard.connections.push(task.abort_handle());
            }
        });
        Self { addr, state }
    }

    /// Cuts every open connection and refuses new ones.
    pub fn cut(&self) {
        let mut state = self.state.lock().expect("proxy state");
        state.up = false;
        for connection in state.connections.drain(..) {
            connection.abort();
        }
    }

    pub fn restore(&self) {
        self.state.lock().expect("proxy state").up = true;
    }
}

/// One JSON API call with a bearer token (and an `If-Match`).
pub async fn send(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .new_client()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.unwrap()
}

/// A body-less JSON API call and the JSON it answers.
pub async fn read_json(app: &TestApp, token: &str, method: reqwest::Method, path: &str) -> Value {
    send(app, token, method, path, None, None)
        .await
        .json()
        .await
        .unwrap()
}

/// A customer created through the API; `marker` keeps emails unique.
pub async fn customer(app: &TestApp, token: &str, marker: &str) -> String {
    let body = json!({ "first_name": "Alex", "last_name": "Moss", "email": format!("alex.{marker}@example.com") });
    let created: Value = send(
        app,
        token,
        reqwest::Method::POST,
        "/api/v1/customers",
        Some(body),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// The body of a USD policy: limit 50,000.00, deductible 500.00.
pub fn policy(customer_id: &str, line: &str, starts_on: &str, ends_on: &str) -> Value {
    json!({
        "customer_id": customer_id, "line": line, "starts_on": starts_on, "ends_on": ends_on,
        "premium": { "amount": 120000, "currency": "USD" },
        "coverage_limit": { "amount": 5000000, "currency": "USD" },
        "deductible": { "amount": 50000, "currency": "USD" },
    })
}
