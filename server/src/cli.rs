//! The `server` command line: `serve` (default), `migrate`, `healthcheck`,
//! `create-admin`, `create-partner`, `create-api-client`, `move-api-client`,
//! `reset-mfa`, `verify-audit`, `audit-public-key`, `audit-proof`,
//! `rotate-keys`, `worker`, `seed-demo`.
#![expect(
    clippy::print_stdout,
    reason = "operator commands print their result (e.g. a client secret) on stdout"
)]

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{config::Config, startup};

#[derive(Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "Vanguard insurance operations platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application and API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Exit 0 when this host's server answers /health/ready with 200 (for
    /// container health checks; needs no curl).
    Healthcheck {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Create an administrator account. The password is read from
    /// VANGUARD_ADMIN_PASSWORD, or else from the first line of stdin.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Display name (default: the part of the email before the @).
        #[arg(long)]
        name: Option<String>,
        /// Do nothing when an active administrator already exists (for
        /// first-run scripts).
        #[arg(long)]
        if_no_admin: bool,
        /// Generate a random password and print it once, instead of reading
        /// one.
        #[arg(long)]
        generate_password: bool,
    },
    /// Verify the audit log (every leaf hash, every checkpoint's root and
    /// signature); exit 0 when intact, 1 naming the first broken record or
    /// checkpoint otherwise.
    VerifyAudit,
    /// Print the public key that verifies audit checkpoints (PEM, then the
    /// raw 32 bytes in base64).
    AuditPublicKey,
    /// Print the inclusion proof of one audit record (JSON): its leaf, the
    /// audit path and the signed checkpoint it leads to.
    AuditProof {
        /// The record's sequence number.
        seq: i64,
    },
    /// Re-wrap every data key under VANGUARD_MASTER_KEY (the previous keys
    /// in VANGUARD_MASTER_KEY_PREVIOUS still unwrap), in batches, while the
    /// servers keep serving; then report whether the old keys can go.
    RotateKeys,
    /// Create a small demo book (customers, active policies, claims that the
    /// pipeline then triages). Refused when VANGUARD_ENV=production.
    SeedDemo,
    /// Run the claims pipeline's workers only, without the web server (a
    /// separate ECS service); VANGUARD_WORKERS of them, at least one.
    Worker,
    /// Create a partner organisation (broker, TPA, fleet operator,
    /// embedded-insurance platform) and print its id. API clients are then
    /// issued for it with `create-api-client --partner SLUG`.
    CreatePartner {
        /// How commands name it: lowercase letters, digits, dashes.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// broker, tpa, fleet_operator or embedded_platform.
        #[arg(long)]
        kind: String,
    },
    /// Issue an API client and print its client_id and client_secret (the
    /// secret is shown this once; only its hash is stored). Give exactly one
    /// of --partner (the client sees that organisation's records only) or
    /// --internal (it sees everything; audited as a grant).
    CreateApiClient {
        #[arg(long)]
        name: String,
        /// api_client (default), or a staff role for internal tools
        /// (internal clients only).
        #[arg(long, default_value = "api_client")]
        role: String,
        /// The partner's slug (or id); it must exist (`create-partner`), so
        /// a typo cannot invent an organisation.
        #[arg(long, conflicts_with = "internal")]
        partner: Option<String>,
        /// A trusted internal integration that sees every organisation.
        #[arg(long)]
        internal: bool,
    },
    /// Remove a member of staff's second factors (a lost phone, or the
    /// last administrator locked out) and end their sessions; they enrol
    /// again at their next sign-in. Audited as `auth.mfa_reset` by the
    /// system.
    ResetMfa {
        #[arg(long)]
        email: String,
    },
    /// Move an API client to a partner organisation (an internal client
    /// issued before tenancy, or another partner's): from its next call it
    /// sees that partner's records only. Audited as `api_client.moved`.
    MoveApiClient {
        /// The client's id (`client_id=` as create-api-client printed it).
        #[arg(long)]
        client: String,
        /// The partner's slug (or id); it must exist.
        #[arg(long)]
        partner: String,
    },
}

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Healthcheck { timeout } => {
            healthcheck(&config, Duration::from_secs(timeout)).await
        }
        Command::CreateAdmin {
            email,
            name,
            if_no_admin,
            generate_password,
        } => create_admin(config, &email, name, if_no_admin, generate_password).await,
        Command::CreatePartner { slug, name, kind } => {
            create_partner(config, &slug, &name, &kind).await
        }
        Command::CreateApiClient {
            name,
            role,
            partner,
            internal,
        } => create_api_client(config, &name, &role, partner.as_deref(), internal).await,
        Command::ResetMfa { email } => reset_mfa(config, &email).await,
        Command::MoveApiClient { client, partner } => {
            move_api_client(config, &client, &partner).await
        }
        Command::VerifyAudit => verify_audit(config).await,
        Command::AuditPublicKey => audit_public_key(&config),
        Command::AuditProof { seq } => audit_proof(config, seq).await,
        Command::RotateKeys => rotate_keys(config).await,
        Command::Worker => worker(config).await,
        Command::SeedDemo => seed_demo(config).await,
    }
}

/// The database, migrated (operator commands work on a fresh install).
async fn open_database(config: &Config) -> anyhow::Result<app::db::Db> {
    let db = app::db::Db::connect(&config.database_url, &config.pool).await?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(db)
}

async fn create_admin(
    config: Config,
    email: &str,
    name: Option<String>,
    if_no_admin: bool,
    generate_password: bool,
) -> anyhow::Result<()> {
    if if_no_admin {
        let db = open_database(&config).await?;
        let admins =
            app::auth::ssr::users::count_active_admins(&mut *db.pool().acquire().await?).await;
        db.close().await;
        if admins? > 0 {
            println!("an administrator already exists; nothing to do");
            return Ok(());
        }
    }
    let password = match std::env::var("VANGUARD_ADMIN_PASSWORD") {
        _ if generate_password => {
            app::auth::ssr::tokens::random_secret("").context("cannot generate a password")?
        }
        Ok(password) if !password.is_empty() => password,
        _ => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_owned());
    let db = open_database(&config).await?;
    let context = app::audit::ssr::AuditContext::system("server create-admin");
    let result = app::auth::ssr::create_user(&db, &context, email, &name, "admin", &password).await;
    db.close().await;
    let id = result.map_err(|error| anyhow::anyhow!("cannot create the administrator: {error}"))?;
    tracing::info!(user_id = %id, "administrator created");
    let email = shared::contact::Email::parse("email", email)
        .map_or_else(|_| email.to_owned(), |e| e.to_string());
    println!("administrator {email} created (id {id})");
    if generate_password {
        println!("password: {password}");
        println!("(shown once: sign in and change it under My account)");
    }
    Ok(())
}

async fn reset_mfa(config: Config, email: &str) -> anyhow::Result<()> {
    let normalized = shared::contact::Email::parse("email", email)
        .map_err(|error| anyhow::anyhow!("--email {}", error.message))?;
    let state = startup::build_state(&config).await?;
    let result = async {
        let user = app::auth::ssr::users::find_by_email(state.db.pool(), normalized.as_str())
            .await?
            .ok_or_else(|| app::error::AppError::NotFound("The account".into()))?;
        let context = app::audit::ssr::AuditContext::system("server reset-mfa");
        app::auth::ssr::mfa::reset(&state.db, &context, &user.id).await?;
        Ok::<_, app::error::AppError>(user.id)
    }
    .await;
    state.db.close().await;
    let id =
        result.map_err(|error| anyhow::anyhow!("cannot reset MFA of {normalized}: {error}"))?;
    tracing::info!(user_id = %id, "second factors reset");
    println!("second factors of {normalized} (id {id}) removed; their sessions ended");
    Ok(())
}

async fn verify_audit(config: Config) -> anyhow::Result<()> {
    let signer = startup::audit_signer(&config)?;
    let db = open_database(&config).await?;
    let verification = app::audit::verify::verify(&db, &signer.verifying_key()).await;
    db.close().await;
    let verification = verification.context("cannot read the audit log")?;
    match verification.first_broken {
        None => {
            println!(
                "audit log intact: {} sealed records in {} signed checkpoints verified; \
                 {} records not yet sealed",
                verification.records, verification.checkpoints, verification.unsealed
            );
            Ok(())
        }
        Some(broken) => anyhow::bail!(
            "audit log BROKEN at {broken} ({} records before it verified)",
            verification.records
        ),
    }
}

fn audit_public_key(config: &Config) -> anyhow::Result<()> {
    let signer = startup::audit_signer(config)?;
    print!("{}", signer.public_key_pem());
    println!("base64: {}", signer.public_key_base64());
    println!("key id: {}", signer.key_id());
    Ok(())
}

async fn audit_proof(config: Config, seq: i64) -> anyhow::Result<()> {
    use app::audit::verify::ProofLookup;
    let db = open_database(&config).await?;
    let lookup = app::audit::verify::proof(&db, seq).await;
    db.close().await;
    match lookup.context("cannot read the audit log")? {
        ProofLookup::NotFound => anyhow::bail!("there is no audit record {seq}"),
        ProofLookup::NotSealed => anyhow::bail!(
            "audit record {seq} is not sealed yet (the sealer runs every second with the workers)"
        ),
        ProofLookup::Proof(proof) => {
            println!("{}", serde_json::to_string_pretty(&proof)?);
            Ok(())
        }
    }
}

async fn rotate_keys(config: Config) -> anyhow::Result<()> {
    let db = open_database(&config).await?;
    let vault = startup::open_vault(&db, &config).await?;
    let report = app::vault::rotation::rotate(&vault, &db).await;
    db.close().await;
    let report = report.map_err(|error| anyhow::anyhow!("rotation stopped: {error}"))?;
    println!(
        "{} keys re-wrapped under master key {}",
        report.rewrapped, report.primary
    );
    if report.remaining.is_empty() {
        println!(
            "no key is wrapped by an older master key: VANGUARD_MASTER_KEY_PREVIOUS can be removed"
        );
    } else {
        for (kek_id, keys) in &report.remaining {
            println!("{keys} keys still wrapped by {kek_id}");
        }
    }
    Ok(())
}

async fn create_partner(config: Config, slug: &str, name: &str, kind: &str) -> anyhow::Result<()> {
    let db = open_database(&config).await?;
    let context = app::audit::ssr::AuditContext::system("server create-partner");
    let result = app::auth::ssr::create_partner(&db, &context, slug, name, kind, None).await;
    db.close().await;
    let partner = result.map_err(|error| anyhow::anyhow!("cannot create the partner: {error}"))?;
    tracing::info!(partner_id = %partner.id, slug = %partner.slug, "partner created");
    println!("partner_id={}", partner.id);
    println!("slug={}", partner.slug);
    Ok(())
}

async fn create_api_client(
    config: Config,
    name: &str,
    role: &str,
    partner: Option<&str>,
    internal: bool,
) -> anyhow::Result<()> {
    let db = open_database(&config).await?;
    let context = app::audit::ssr::AuditContext::system("server create-api-client");
    let result =
        app::auth::ssr::create_api_client(&db, &context, name, role, partner, internal, None).await;
    db.close().await;
    let (client, secret) =
        result.map_err(|error| anyhow::anyhow!("cannot create the API client: {error}"))?;
    tracing::info!(client_id = %client.id, "API client created");
    println!("client_id={}", client.id);
    println!("client_secret={secret}");
    Ok(())
}

async fn move_api_client(config: Config, client: &str, partner: &str) -> anyhow::Result<()> {
    let db = open_database(&config).await?;
    let context = app::audit::ssr::AuditContext::system("server move-api-client");
    let result = app::auth::ssr::move_api_client(&db, &context, client, partner).await;
    db.close().await;
    let moved = result.map_err(|error| anyhow::anyhow!("cannot move the API client: {error}"))?;
    tracing::info!(client_id = %moved.id, partner_id = ?moved.partner_id, "API client moved");
    println!("client_id={}", moved.id);
    println!("partner_id={}", moved.partner_id.unwrap_or_default());
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = startup::Application::build(&config).await?;
    tracing::info!(
        address = %app.local_addr()?,
        database = %config.database_url.redacted(),
        version = shared::VERSION,
        "Vanguard is listening on http://{}",
        app.local_addr()?
    );
    app.run_until_stopped(startup::shutdown_signal()).await?;
    Ok(())
}

async fn seed_demo(config: Config) -> anyhow::Result<()> {
    if config.environment == crate::config::Environment::Production {
        anyhow::bail!("seed-demo refuses to run with VANGUARD_ENV=production");
    }
    let state = startup::build_state(&config).await?;
    let filed = crate::demo::seed(&state)
        .await
        .map_err(|error| anyhow::anyhow!("cannot seed the demo data: {error}"));
    state.db.close().await;
    println!(
        "demo data seeded: {} claims filed (a running server triages them)",
        filed?
    );
    Ok(())
}

async fn worker(mut config: Config) -> anyhow::Result<()> {
    config.workers.concurrency = config.workers.concurrency.max(1);
    let state = startup::build_state(&config).await?;
    let workers = startup::spawn_workers(&state, &config).await?;
    tracing::info!(
        workers = workers.len(),
        database = %config.database_url.redacted(),
        "Vanguard workers are running"
    );
    startup::shutdown_signal().await;
    tracing::info!("shutdown requested; workers finish their current step");
    startup::stop_workers(&state, workers, config.shutdown_timeout).await;
    state.db.close().await;
    tracing::info!("shutdown complete");
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = app::db::Db::connect(&config.database_url, &config.pool).await?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    let version = db.schema_version().await?;
    tracing::info!(schema_version = ?version, database = %config.database_url.redacted(), "migrations applied");
    db.close().await;
    Ok(())
}

/// A minimal HTTP/1.1 GET against our own listener.
async fn healthcheck(config: &Config, timeout: Duration) -> anyhow::Result<()> {
    let mut addr = config.site_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(
                b"GET /health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head)
    };
    let head = tokio::time::timeout(timeout, probe)
        .await
        .with_context(|| format!("no answer from {addr} within {timeout:?}"))?
        .with_context(|| format!("cannot reach {addr}"))?;
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.1 200"),
        "{addr}/health/ready answered {}",
        String::from_utf8_lossy(&head)
    );
    Ok(())
}
