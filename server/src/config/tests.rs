use std::collections::HashMap;

use super::*;

fn config_from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    Config::from_lookup(|name| vars.get(name).cloned())
}

#[test]
fn defaults_need_no_configuration() {
    let config = config_from(&[]).unwrap();
    assert_eq!(config.environment, Environment::Development);
    assert_eq!(
        config.database_url,
        DatabaseUrl::Sqlite("data/vanguard.db".into())
    );
    assert_eq!(config.site_addr, "127.0.0.1:3000".parse().unwrap());
    assert_eq!(
        config.public_origin_for(config.site_addr),
        "http://127.0.0.1:3000"
    );
    assert_eq!(
        config.master_key,
        KeySource::DevFile("data/master.key".into())
    );
    assert_eq!(config.storage, StorageUrl::Local("data/objects".into()));
    assert_eq!(config.log_format, LogFormat::Json);
}

#[test]
fn intake_queues_at_most_100_000_steps_unless_told_and_0_lifts_the_limit() {
    assert_eq!(config_from(&[]).unwrap().intake_max_backlog, Some(100_000));
    let lifted = [("VANGUARD_INTAKE_MAX_BACKLOG", "0")];
    assert_eq!(config_from(&lifted).unwrap().intake_max_backlog, None);
    let error = config_from(&[("VANGUARD_INTAKE_MAX_BACKLOG", "-1")]).unwrap_err();
    assert_eq!(error.variable, "VANGUARD_INTAKE_MAX_BACKLOG");
}

#[test]
fn a_process_runs_one_worker_on_sqlite_and_four_on_postgresql_unless_told() {
    assert_eq!(config_from(&[]).unwrap().workers.concurrency, 1);
    let postgres = [("DATABASE_URL", "postgres://vanguard@db.internal/vanguard")];
    assert_eq!(config_from(&postgres).unwrap().workers.concurrency, 4);
    let told = [postgres[0], ("VANGUARD_WORKERS", "0")];
    assert_eq!(config_from(&told).unwrap().workers.concurrency, 0);
}

#[test]
fn the_environment_banner_is_one_short_line_or_nothing() {
    assert_eq!(config_from(&[]).unwrap().environment_banner, None);
    let config =
        config_from(&[("VANGUARD_ENVIRONMENT_BANNER", "  Preview pr-42: demo data ")]).unwrap();
    assert_eq!(
        config.environment_banner.as_deref(),
        Some("Preview pr-42: demo data")
    );
    for bad in ["two\nlines", &"x".repeat(121)] {
        let error = config_from(&[("VANGUARD_ENVIRONMENT_BANNER", bad)]).unwrap_err();
        assert_eq!(error.variable, "VANGUARD_ENVIRONMENT_BANNER");
        assert!(error.rule.contains("120 characters"), "{}", error.rule);
    }
}

#[test]
fn production_drains_for_5_s_and_every_limit_has_a_default() {
    let config = config_from(&[]).unwrap();
    assert_eq!(config.drain_delay, Duration::ZERO, "development");
    assert_eq!(config.shutdown_timeout, Duration::from_secs(20));
    assert_eq!(
        config.connections,
        crate::serve::ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            max_connections: 1_000,
        }
    );

    let key = Key32([7; 32]).to_base64();
    let production = [
        ("VANGUARD_ENV", "production"),
        ("VANGUARD_MASTER_KEY", key.as_str()),
        ("VANGUARD_JWT_SECRET", key.as_str()),
    ];
    let config = config_from(&production).unwrap();
    assert_eq!(config.drain_delay, Duration::from_secs(5));
    let config =
        config_from(&[production.as_slice(), &[("VANGUARD_DRAIN_DELAY_MS", "0")]].concat())
            .unwrap();
    assert_eq!(config.drain_delay, Duration::ZERO, "explicitly set");
}

#[test]
fn mfa_is_required_by_default_in_production_only() {
    assert!(!config_from(&[]).unwrap().security.require_mfa);
    assert!(
        config_from(&[("VANGUARD_REQUIRE_MFA", "true")])
            .unwrap()
            .security
            .require_mfa
    );
    let key = Key32([7; 32]).to_base64();
    let production = [
        ("VANGUARD_ENV", "production"),
        ("VANGUARD_MASTER_KEY", key.as_str()),
        ("VANGUARD_JWT_SECRET", key.as_str()),
    ];
    assert!(config_from(&production).unwrap().security.require_mfa);
    let off = [production.as_slice(), &[("VANGUARD_REQUIRE_MFA", "false")]].concat();
    assert!(!config_from(&off).unwrap().security.require_mfa);
    let err = config_from(&[("VANGUARD_REQUIRE_MFA", "maybe")]).unwrap_err();
    assert_eq!(err.variable, "VANGUARD_REQUIRE_MFA");
}

#[test]
fn a_platform_port_binds_all_interfaces() {
    let config = config_from(&[("PORT", "8080")]).unwrap();
    assert_eq!(config.site_addr, "0.0.0.0:8080".parse().unwrap());
    assert_eq!(
        config.public_origin_for(config.site_addr),
        "http://127.0.0.1:8080"
    );

    let config =
        config_from(&[("VANGUARD_PUBLIC_ORIGIN", "https://vanguard.example.com/")]).unwrap();
    assert_eq!(
        config.public_origin_for(config.site_addr),
        "https://vanguard.example.com"
    );
}

#[test]
fn errors_name_the_variable_and_the_rule_but_not_the_value() {
    let err = config_from(&[("DATABASE_URL", "mysql://root:hunter2@db/x")]).unwrap_err();
    assert_eq!(err.variable, "DATABASE_URL");
    assert!(!err.to_string().contains("hunter2"));

    let err = config_from(&[("VANGUARD_MASTER_KEY", "c2hvcnQ=")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "VANGUARD_MASTER_KEY: must decode to exactly 32 bytes, got 5"
    );

    let err = config_from(&[("VANGUARD_JWT_SECRET", "not base64!")]).unwrap_err();
    assert_eq!(err.variable, "VANGUARD_JWT_SECRET");

    let err = config_from(&[("LEPTOS_SITE_ADDR", "localhost")]).unwrap_err();
    assert_eq!(err.variable, "LEPTOS_SITE_ADDR");

    let err = config_from(&[("VANGUARD_PUBLIC_ORIGIN", "https://x.example/app")]).unwrap_err();
    assert_eq!(err.variable, "VANGUARD_PUBLIC_ORIGIN");

    let err = config_from(&[("VANGUARD_DB_MAX_CONNECTIONS", "0")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "VANGUARD_DB_MAX_CONNECTIONS: must be a whole number from 1 to 1000"
    );

    for (variable, value, rule) in [
        (
            "VANGUARD_HEADER_READ_TIMEOUT_MS",
            "5",
            "must be a whole number from 10 to 300000",
        ),
        (
            "VANGUARD_IDLE_TIMEOUT_MS",
            "forever",
            "must be a whole number from 10 to 3600000",
        ),
        (
            "VANGUARD_MAX_CONNECTIONS",
            "0",
            "must be a whole number from 1 to 1000000",
        ),
    ] {
        let err = config_from(&[(variable, value)]).unwrap_err();
        assert_eq!(err.to_string(), format!("{variable}: {rule}"));
    }

    let err = config_from(&[("VANGUARD_MASTER_KEY_PREVIOUS", "c2hvcnQ=")]).unwrap_err();
    assert_eq!(err.variable, "VANGUARD_MASTER_KEY_PREVIOUS");

    let err = config_from(&[("VANGUARD_TRUSTED_PROXIES", "10.0.0.0/8, nonsense")]).unwrap_err();
    assert_eq!(err.variable, "VANGUARD_TRUSTED_PROXIES");
}

#[test]
fn security_settings_parse_proxies_and_previous_keys() {
    let key = Key32([3; 32]).to_base64();
    let config = config_from(&[
        ("VANGUARD_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7"),
        ("VANGUARD_MASTER_KEY_PREVIOUS", &format!("{key},{key}")),
        ("VANGUARD_SESSION_IDLE_MINUTES", "5"),
    ])
    .unwrap();
    assert_eq!(config.security.trusted_proxies.len(), 2);
    assert_eq!(config.previous_master_keys.len(), 2);
    assert_eq!(config.security.session_idle, Duration::from_secs(300));
    assert_eq!(config.security.login_rate_per_minute, 5, "the default");
}

#[test]
fn production_refuses_to_run_without_real_keys() {
    let err = config_from(&[("VANGUARD_ENV", "production")]).unwrap_err();
    assert_eq!(err.variable, "VANGUARD_MASTER_KEY");

    let key = Key32([7; 32]).to_base64();
    let config = config_from(&[
        ("VANGUARD_ENV", "production"),
        ("VANGUARD_MASTER_KEY", &key),
        ("VANGUARD_JWT_SECRET", &key),
    ])
    .unwrap();
    assert_eq!(config.master_key, KeySource::Env(Key32([7; 32])));
}

#[test]
fn the_webhook_allow_list_is_for_development_only() {
    let config = config_from(&[(
        "VANGUARD_WEBHOOK_ALLOW_HOSTS",
        " 127.0.0.1, LocalHost ,[::1]",
    )])
    .unwrap();
    assert_eq!(
        config.security.webhook_allow_hosts,
        ["127.0.0.1", "localhost", "::1"]
    );
    let key = Key32([7; 32]).to_base64();
    let err = config_from(&[
        ("VANGUARD_ENV", "production"),
        ("VANGUARD_MASTER_KEY", &key),
        ("VANGUARD_JWT_SECRET", &key),
        ("VANGUARD_WEBHOOK_ALLOW_HOSTS", "127.0.0.1"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "VANGUARD_WEBHOOK_ALLOW_HOSTS");
}

#[test]
fn storage_urls_are_local_paths_or_s3() {
    assert_eq!(
        StorageUrl::parse("s3://claims-bucket/prod/objects/"),
        Ok(StorageUrl::S3 {
            bucket: "claims-bucket".into(),
            prefix: "prod/objects".into()
        })
    );
    assert_eq!(
        StorageUrl::parse("file:///srv/objects"),
        Ok(StorageUrl::Local("/srv/objects".into()))
    );
    assert!(StorageUrl::parse("gs://bucket").is_err());
}

#[test]
fn a_development_key_is_created_once_and_then_reused() {
    let dir = tempfile::tempdir().unwrap();
    let source = KeySource::DevFile(dir.path().join("keys/master.key"));
    let (first, dev) = load_key(&source, "VANGUARD_MASTER_KEY").unwrap();
    let (second, _) = load_key(&source, "VANGUARD_MASTER_KEY").unwrap();
    assert!(dev);
    assert_eq!(first, second);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("keys/master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn keys_never_print() {
    assert_eq!(format!("{:?}", Key32([1; 32])), "Key32(***)");
}
