//! Every SQL statement on partner organisations.

use shared::tenancy::{PartnerKind, PartnerView};
use sqlx::{Any, AnyConnection, Executor, Row as _, any::AnyRow};

use crate::db::{new_id, now_micros};

const SELECT: &str = "SELECT p.id, p.slug, p.name, p.kind, p.created_at, \
    (SELECT COUNT(*) FROM api_clients c WHERE c.partner_id = p.id AND c.revoked_at IS NULL) AS active_clients \
    FROM partners p";

fn from_row(row: &AnyRow) -> Result<PartnerView, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(PartnerView {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        kind: PartnerKind::parse("kind", &kind)
            .map_err(|e| sqlx::Error::Decode(e.message.into()))?,
        created_at: row.try_get("created_at")?,
        active_clients: row.try_get("active_clients")?,
    })
}

pub async fn insert(
    conn: &mut AnyConnection,
    slug: &str,
    name: &str,
    kind: PartnerKind,
    created_by: Option<&str>,
) -> Result<PartnerView, sqlx::Error> {
    let view = PartnerView {
        id: new_id(),
        slug: slug.to_owned(),
        name: name.to_owned(),
        kind,
        created_at: now_micros(),
        active_clients: 0,
    };
    sqlx::query(
        "INSERT INTO partners (id, slug, name, kind, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&view.id)
    .bind(&view.slug)
    .bind(&view.name)
    .bind(kind.as_str())
    .bind(created_by)
    .bind(view.created_at)
    .execute(conn)
    .await?;
    Ok(view)
}

/// The partner with this id or slug.
pub async fn find<'e>(
    db: impl Executor<'e, Database = Any>,
    id_or_slug: &str,
) -> Result<Option<PartnerView>, sqlx::Error> {
    sqlx::query(&format!("{SELECT} WHERE p.id = $1 OR p.slug = $1"))
        .bind(id_or_slug)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn list<'e>(
    db: impl Executor<'e, Database = Any>,
) -> Result<Vec<PartnerView>, sqlx::Error> {
    sqlx::query(&format!("{SELECT} ORDER BY p.name"))
        .fetch_all(db)
        .await?
        .iter()
        .map(from_row)
        .collect()
}
