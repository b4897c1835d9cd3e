//! `/api/v1/audit/{seq}/proof`: the inclusion proof of one audit record in
//! the latest signed checkpoint (audit-read permission, as the trail).

use axum::{
    Json, Router,
    extract::{Path, State},
    response::IntoResponse,
    routing::get,
};

use app::{
    audit::verify::{self as audit, ProofLookup},
    error::AppError,
    state::AppState,
};
use shared::auth::Permission;

use super::{ApiError, Caller};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit/{seq}/proof", get(proof))
}

/// 200 with the proof; 404 for no such record; 409 while it is not sealed.
async fn proof(
    caller: Caller,
    State(state): State<AppState>,
    Path(seq): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(&state, Permission::AuditRead).await?;
    let not_found = || AppError::NotFound(format!("Audit record {seq}"));
    let number: i64 = seq.trim().parse().map_err(|_| not_found())?;
    match audit::proof(&state.db, number).await? {
        ProofLookup::NotFound => Err(not_found().into()),
        ProofLookup::NotSealed => Err(AppError::Conflict(format!(
            "Audit record {number} is not sealed yet: it is in the next checkpoint, within about a second."
        ))
        .into()),
        ProofLookup::Proof(proof) => Ok(Json(*proof)),
    }
}
