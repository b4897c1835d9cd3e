use super::*;

#[test]
fn parses_sqlite_urls_with_and_without_slashes() {
    assert_eq!(
        DatabaseUrl::parse("sqlite://data/v.db"),
        Ok(DatabaseUrl::Sqlite("data/v.db".into()))
    );
    assert_eq!(
        DatabaseUrl::parse("sqlite:/tmp/v.db?mode=ro"),
        Ok(DatabaseUrl::Sqlite("/tmp/v.db".into()))
    );
}

#[test]
fn rejects_in_memory_sqlite_and_unknown_schemes() {
    assert!(DatabaseUrl::parse("sqlite::memory:").is_err());
    let err = DatabaseUrl::parse("mysql://localhost/db").unwrap_err();
    assert!(err.contains("unsupported scheme `mysql`"), "{err}");
    assert!(
        DatabaseUrl::parse("not a url")
            .unwrap_err()
            .contains("not a valid URL")
    );
}

#[test]
fn redacts_the_password_of_a_postgres_url() {
    let url = DatabaseUrl::parse("postgres://app:s3cret@db.internal:5432/vanguard").unwrap();
    assert_eq!(url.engine(), Engine::Postgres);
    assert!(!url.redacted().contains("s3cret"));
    assert!(!format!("{url:?}").contains("s3cret"));
}

#[tokio::test]
async fn a_new_sqlite_file_is_created_in_wal_mode_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::Sqlite(dir.path().join("nested/dir/v.db"));
    let db = Db::connect(&url, &PoolSettings::default()).await.unwrap();
    db.migrate().await.unwrap();

    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(fk, 1);
    assert_eq!(sync, 2, "2 = FULL");
    assert!(dir.path().join("nested/dir/v.db").exists());
}
