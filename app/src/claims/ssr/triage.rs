//! What the pipeline reads and writes on claims, a batch of claims at a
//! time: the facts the coverage check and triage decide on, the claim
//! history triage weighs, and triage's outcome.
//!
//! A worker runs up to a batch of steps at once, so every function here
//! takes many claims and costs the same few statements whatever their
//! number: on PostgreSQL each statement is a round trip, and under load a
//! round trip waits its turn for the CPU, so the pipeline's cost is its
//! statements. The answers come back per claim, in the order asked, so that
//! one claim's problem fails only its own step.

use std::collections::HashMap;

use serde_json::json;
use shared::{
    claim::{ClaimAction, ClaimStatus},
    dates::{Date, DateRange},
    money::{Currency, Money},
    policy::{LineOfBusiness, PolicyStatus},
    triage::{Assessment, ClaimFacts, FlagCode, FraudFlag},
};
use sqlx::{Row as _, any::AnyRow};

use super::current::transition_record;
use crate::{
    audit::ssr::{self as audit, AuditContext},
    batch::{Arg, bind_all},
    db::{Engine, now_micros, placeholders},
    error::AppError,
};

/// How many other claims triage looks at as possible duplicates, and counts
/// as prior claims: enough for every rule (two prior claims already flag a
/// repeat claimant; one duplicate already routes to review), bounded so a
/// policy with thousands of claims on one day costs the same as any other.
pub const TRIAGE_CANDIDATES: i64 = 10;

/// A claim's facts as the coverage check and triage read them, with its
/// policy. `Ok(None)` for a claim that no longer waits for triage (the step
/// already ran).
pub type Facts = Result<Option<(String, ClaimFacts)>, AppError>;

/// The facts of each of `ids` (no claim history), in one statement. Runs on
/// any connection: the pipeline reads them outside the write lock.
pub async fn claim_facts(
    conn: &mut sqlx::AnyConnection,
    ids: &[&str],
) -> Result<Vec<Facts>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT cl.id, cl.status, cl.policy_id, cl.incident_date, cl.currency, cl.total_claimed, p.line, \
         p.status AS policy_status, p.starts_on, p.ends_on, p.coverage_limit, p.deductible, \
         p.currency AS policy_currency FROM claims cl JOIN policies p ON p.id = cl.policy_id \
         WHERE cl.id IN ({})",
        placeholders(1, ids.len())
    );
    let mut select = sqlx::query(&sql);
    for id in ids {
        select = select.bind(*id);
    }
    let rows = select.fetch_all(&mut *conn).await?;
    let by_id: HashMap<String, &AnyRow> = rows
        .iter()
        .map(|row| Ok((row.try_get::<String, _>("id")?, row)))
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(ids
        .iter()
        .map(|id| match by_id.get(*id) {
            Some(row) => facts_from_row(row),
            None => Err(AppError::NotFound("The claim".into())),
        })
        .collect())
}

fn facts_from_row(row: &AnyRow) -> Facts {
    if row.try_get::<String, _>("status")? != ClaimStatus::Submitted.as_str() {
        return Ok(None);
    }
    let text = |column: &str| row.try_get::<String, _>(column);
    let internal = AppError::internal_message;
    let policy_currency =
        Currency::from_stored("policy_currency", &text("policy_currency")?).map_err(internal)?;
    let policy_id = row.try_get("policy_id")?;
    Ok(Some((
        policy_id,
        ClaimFacts {
            possible_duplicates: Vec::new(),
            total_claimed: Money::new(
                row.try_get("total_claimed")?,
                Currency::from_stored("currency", &text("currency")?).map_err(internal)?,
            ),
            incident_date: Date::parse("incident_date", &text("incident_date")?)
                .map_err(internal)?,
            line: LineOfBusiness::parse("line", &text("line")?).map_err(internal)?,
            policy_status: PolicyStatus::parse("policy_status", &text("policy_status")?)
                .map_err(internal)?,
            policy_term: DateRange::parse(&text("starts_on")?, &text("ends_on")?)
                .map_err(|e| AppError::internal_message(e.to_string()))?,
            coverage_limit: Money::new(row.try_get("coverage_limit")?, policy_currency),
            deductible: Money::new(row.try_get("deductible")?, policy_currency),
            prior_claims_in_year: 0,
        },
    )))
}

/// What triage decides on, and the ids of the possible duplicates it names
/// (the claims [`record_triage`] links, should the rules flag them).
#[derive(Debug, Clone)]
pub struct TriageFacts {
    pub facts: ClaimFacts,
    pub candidates: Vec<String>,
}

/// Everything triage needs for each of `ids`: [`claim_facts`] plus the
/// claim history, in two statements. The history of each claim is its prior
/// claims in the year before the incident and its possible duplicates (same
/// policy and day, an item code in common), each capped at
/// [`TRIAGE_CANDIDATES`] by a `LIMIT` inside a correlated sub-select, so it
/// is a bounded range of the (policy, incident date, claim number) index.
pub async fn triage_facts(
    conn: &mut sqlx::AnyConnection,
    engine: Engine,
    ids: &[&str],
) -> Result<Vec<Result<Option<TriageFacts>, AppError>>, AppError> {
    let facts = claim_facts(conn, ids).await?;
    let waiting: Vec<(&str, &str, Date)> = ids
        .iter()
        .zip(&facts)
        .filter_map(|(id, facts)| match facts {
            Ok(Some((policy_id, facts))) => Some((*id, policy_id.as_str(), facts.incident_date)),
            _ => None,
        })
        .collect();
    let mut history = history(conn, engine, &waiting).await?;
    Ok(ids
        .iter()
        .zip(facts)
        .map(|(id, facts)| {
            let Some((_, mut facts)) = facts? else {
                return Ok(None);
            };
            let (prior, duplicates) = history.remove(*id).unwrap_or_default();
            facts.prior_claims_in_year = prior;
            let (candidates, numbers) = duplicates.into_iter().unzip();
            facts.possible_duplicates = numbers;
            Ok(Some(TriageFacts { facts, candidates }))
        })
        .collect())
}

/// Per claim: the prior claims counted, and the possible duplicates as
/// (id, claim number) by claim number.
type History = HashMap<String, (u32, Vec<(String, String)>)>;

/// The history of each `(claim, policy, incident date)`, in one statement:
/// the claims are a `VALUES` list, and each one's two bounded look-ups are
/// sub-selects correlated with its row. The duplicates come back as one
/// text per claim, `id number,id number` (ids are UUIDs and claim numbers
/// have no spaces or commas).
async fn history(
    conn: &mut sqlx::AnyConnection,
    engine: Engine,
    claims: &[(&str, &str, Date)],
) -> Result<History, AppError> {
    if claims.is_empty() {
        return Ok(History::new());
    }
    let concat = match engine {
        Engine::Postgres => "string_agg",
        Engine::Sqlite => "group_concat",
    };
    let values = (0..claims.len())
        .map(|row| format!("({})", placeholders(2 + row * 4, 4)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "WITH t (cid, policy_id, since, day) AS (VALUES {values}) \
         SELECT t.cid, \
         (SELECT COUNT(*) FROM (SELECT 1 FROM claims o WHERE o.policy_id = t.policy_id AND o.id <> t.cid \
          AND o.incident_date >= t.since AND o.incident_date <= t.day LIMIT $1) AS prior) AS prior, \
         (SELECT {concat}(d.id || ' ' || d.claim_number, ',') FROM (SELECT o.id, o.claim_number FROM claims o \
          WHERE o.policy_id = t.policy_id AND o.incident_date = t.day AND o.id <> t.cid \
          AND EXISTS (SELECT 1 FROM claim_lines a JOIN claim_lines b ON a.code = b.code \
          WHERE a.claim_id = o.id AND b.claim_id = t.cid) ORDER BY o.claim_number LIMIT $1) AS d) AS duplicates \
         FROM t"
    );
    let mut args: Vec<Arg> = vec![TRIAGE_CANDIDATES.into()];
    for (id, policy_id, incident_date) in claims {
        let year_before = incident_date.add_days(-365).unwrap_or(*incident_date);
        args.extend([
            (*id).into(),
            (*policy_id).into(),
            year_before.to_string().into(),
            incident_date.to_string().into(),
        ]);
    }
    let rows = bind_all(sqlx::query(&sql), args)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let prior: i64 = row.try_get("prior")?;
            let mut duplicates: Vec<(String, String)> = row
                .try_get::<Option<String>, _>("duplicates")?
                .unwrap_or_default()
                .split(',')
                .filter_map(|pair| pair.split_once(' '))
                .map(|(id, number)| (id.to_owned(), number.to_owned()))
                .collect();
            duplicates.sort_by(|a, b| a.1.cmp(&b.1));
            Ok((
                row.try_get("cid")?,
                (u32::try_from(prior).unwrap_or(u32::MAX), duplicates),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// Triage's outcome for one claim, and the possible duplicates it read.
pub struct Outcome<'a> {
    pub claim_id: &'a str,
    pub assessment: &'a Assessment,
    pub candidates: &'a [String],
}

/// Stores each triage outcome and moves each claim to `triaged`, in the
/// caller's transaction, in three statements whatever their number: the
/// claims' current rows, one `UPDATE … FROM (VALUES …)` checked against the
/// versions just read, and one insert of the duplicate links. Per outcome,
/// the audit record for the caller to append (with the rest of its batch's),
/// or why that claim was not triaged: no longer waiting for triage, or
/// changed meanwhile (the step is retried).
pub async fn record_triage(
    tx: &mut sqlx::AnyConnection,
    context: &AuditContext,
    outcomes: &[Outcome<'_>],
) -> Result<Vec<Result<audit::Pending, AppError>>, AppError> {
    if outcomes.is_empty() {
        return Ok(Vec::new());
    }
    let current = current_rows(tx, outcomes).await?;
    let now = now_micros();
    // What each claim becomes, or why it cannot.
    let planned: Vec<Result<Planned, AppError>> = outcomes
        .iter()
        .map(|outcome| plan(&current, outcome))
        .collect();
    let updated = update_all(tx, outcomes, &planned, now).await?;
    let mut links = Vec::new();
    let mut records = Vec::with_capacity(outcomes.len());
    for (outcome, planned) in outcomes.iter().zip(planned) {
        records.push(planned.and_then(|planned| {
            if !updated.contains(outcome.claim_id) {
                return Err(AppError::PreconditionFailed(
                    "The claim changed while it was being triaged; the step is retried.".into(),
                ));
            }
            if let Some(flag) = outcome
                .assessment
                .flags
                .iter()
                .find(|f| f.code == FlagCode::PossibleDuplicate)
            {
                // The candidates triage read outside the write lock: a claim
                // filed since is not linked to this one now, but this one is
                // linked to it when that claim is triaged.
                for other in outcome.candidates {
                    links.push((outcome.claim_id, other.as_str(), flag.reason.clone()));
                }
            }
            Ok(triage_record(context, outcome, &planned))
        }));
    }
    link_all(tx, &links, now).await?;
    Ok(records)
}

/// A claim's row as triage finds it.
struct Row {
    status: ClaimStatus,
    version: i64,
    fraud_flags: String,
}

async fn current_rows(
    tx: &mut sqlx::AnyConnection,
    outcomes: &[Outcome<'_>],
) -> Result<HashMap<String, Row>, AppError> {
    let sql = format!(
        "SELECT id, status, version, fraud_flags FROM claims WHERE id IN ({})",
        placeholders(1, outcomes.len())
    );
    let mut select = sqlx::query(&sql);
    for outcome in outcomes {
        select = select.bind(outcome.claim_id);
    }
    select
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| {
            let status = ClaimStatus::parse("status", &row.try_get::<String, _>("status")?)
                .map_err(AppError::internal_message)?;
            Ok((
                row.try_get("id")?,
                Row {
                    status,
                    version: row.try_get("version")?,
                    fraud_flags: row.try_get("fraud_flags")?,
                },
            ))
        })
        .collect()
}

/// The claim after triage: its next status, the version it moves on from,
/// and its flags with triage's added.
struct Planned {
    from: ClaimStatus,
    version: i64,
    next: ClaimStatus,
    fraud_flags: String,
}

fn plan(current: &HashMap<String, Row>, outcome: &Outcome<'_>) -> Result<Planned, AppError> {
    let row = current
        .get(outcome.claim_id)
        .ok_or_else(|| AppError::NotFound("The claim".into()))?;
    let next = row
        .status
        .apply(ClaimAction::Triage, None)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    let mut flags: Vec<FraudFlag> = serde_json::from_str(&row.fraud_flags).unwrap_or_default();
    flags.extend(outcome.assessment.flags.iter().cloned());
    Ok(Planned {
        from: row.status,
        version: row.version,
        next,
        fraud_flags: serde_json::to_string(&flags).map_err(|e| AppError::internal(&e))?,
    })
}

/// Writes every planned triage in one statement, each row only if its
/// version is still the one read (the status and triage's outcome in the
/// same write, so a step writes the claim row once); returns the ids of the
/// claims written.
async fn update_all(
    tx: &mut sqlx::AnyConnection,
    outcomes: &[Outcome<'_>],
    planned: &[Result<Planned, AppError>],
    now: i64,
) -> Result<std::collections::HashSet<String>, AppError> {
    const COLUMNS: usize = 7;
    let mut args: Vec<Arg> = vec![now.into()];
    let mut rows = 0;
    for (outcome, planned) in outcomes.iter().zip(planned) {
        let Ok(planned) = planned else { continue };
        let coverage = &outcome.assessment.coverage;
        args.extend([
            outcome.claim_id.into(),
            planned.version.into(),
            planned.next.as_str().into(),
            outcome.assessment.priority.as_str().into(),
            planned.fraud_flags.clone().into(),
            coverage.as_str().into(),
            coverage.note().into(),
        ]);
        rows += 1;
    }
    if rows == 0 {
        return Ok(std::collections::HashSet::new());
    }
    let values = (0..rows)
        .map(|row| format!("({})", placeholders(2 + row * COLUMNS, COLUMNS)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "WITH v (cid, seen, status, priority, flags, coverage, note) AS (VALUES {values}) \
         UPDATE claims SET status = v.status, version = claims.version + 1, updated_at = $1, \
         priority = v.priority, fraud_flags = v.flags, coverage = v.coverage, coverage_note = v.note, \
         triaged_at = $1 FROM v WHERE claims.id = v.cid AND claims.version = v.seen RETURNING claims.id"
    );
    Ok(bind_all(sqlx::query(&sql), args)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()?)
}

/// `claim.triage` in the trail, as a staff transition is recorded.
fn triage_record(
    context: &AuditContext,
    outcome: &Outcome<'_>,
    planned: &Planned,
) -> audit::Pending {
    let assessment = outcome.assessment;
    transition_record(
        context,
        outcome.claim_id,
        (planned.from, planned.version),
        ClaimAction::Triage,
        planned.next,
        json!({ "after": {
            "priority": assessment.priority,
            "coverage": assessment.coverage.as_str(),
            "fraud_flags": assessment.flags.iter().map(|f| f.code).collect::<Vec<_>>(),
        }}),
    )
}

/// Links each `(claim, other, reason)` both ways; links that exist already
/// are kept as they are. One statement for all of them.
pub(crate) async fn link_all(
    tx: &mut sqlx::AnyConnection,
    links: &[(&str, &str, String)],
    now: i64,
) -> Result<(), AppError> {
    // Rows in one global order: two claims triaged at once by two workers
    // then lock the same link rows in the same order and cannot deadlock.
    let mut rows: Vec<(&str, &str, &str)> = links
        .iter()
        .flat_map(|(id, other, reason)| {
            [
                (*id, *other, reason.as_str()),
                (*other, *id, reason.as_str()),
            ]
        })
        .collect();
    rows.sort_unstable();
    // A pair named twice (two claims of one batch that name each other)
    // would be one row twice in one statement, which PostgreSQL refuses.
    rows.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
    if rows.is_empty() {
        return Ok(());
    }
    let values = (0..rows.len())
        .map(|row| format!("(${}, ${}, ${}, $1)", 2 + row * 3, 3 + row * 3, 4 + row * 3))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO claim_links (claim_id, other_claim_id, reason, created_at) VALUES {values} \
         ON CONFLICT (claim_id, other_claim_id) DO NOTHING"
    );
    let mut insert = sqlx::query(&sql).bind(now);
    for (from, to, reason) in rows {
        insert = insert.bind(from).bind(to).bind(reason);
    }
    insert.execute(&mut *tx).await?;
    Ok(())
}

/// Links `id` and each of `others` both ways with `reason`.
pub(crate) async fn link_claims(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    others: &[String],
    reason: &str,
    now: i64,
) -> Result<(), AppError> {
    let links: Vec<(&str, &str, String)> = others
        .iter()
        .map(|other| (id, other.as_str(), reason.to_owned()))
        .collect();
    link_all(tx, &links, now).await
}
