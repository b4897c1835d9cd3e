//! What the load needs on a running server: an API token, a signed-in
//! staff session, active policies, and the claim every client sends.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::server::{self, Launch, Server, Target};

pub const CLAIM_DESCRIPTION: &str = "Water damage in the kitchen after a pipe burst.";

/// Today (UTC) plus `days`, as `YYYY-MM-DD`.
pub fn days_from_today(days: i64) -> anyhow::Result<String> {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Ok(date.format(format)?)
}

/// A claim on `policy_number` the day before `today`: a claimant (sealed by
/// the vault) and two lines, like a partner's.
pub fn claim_body(policy_number: &str, incident_date: &str) -> Value {
    json!({
        "policy_number": policy_number,
        "incident_date": incident_date,
        "description": CLAIM_DESCRIPTION,
        "claimant": { "name": "Robin Vale", "email": "robin.vale@example.com", "phone": "+44 20 7946 0001" },
        "lines": [
            { "code": "PLUMB", "description": "Emergency plumber", "amount": { "amount": 60000, "currency": "USD" } },
            { "code": "FLOOR", "amount": { "amount": 60000, "currency": "USD" } },
        ],
    })
}

/// Fails unless `response` has `expected` status, naming `what` and
/// quoting the start of the body.
pub async fn expect(
    response: reqwest::Response,
    expected: u16,
    what: &str,
) -> anyhow::Result<reqwest::Response> {
    if response.status().as_u16() == expected {
        return Ok(response);
    }
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(|v| format!(" (Retry-After: {v})"))
        .unwrap_or_default();
    let body = response.text().await.unwrap_or_default();
    let excerpt: String = body.chars().take(400).collect();
    bail!("{what}: expected {expected}, got {status}{retry_after}: {excerpt}")
}

/// A JSON API client holding a bearer token.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    /// `POST /api/v1/auth/token` with the client credentials.
    pub async fn sign_in(
        client: reqwest::Client,
        server: &Server,
        client_id: &str,
        client_secret: &str,
    ) -> anyhow::Result<Self> {
        let response = client
            .post(server.url("/api/v1/auth/token"))
            .json(&json!({ "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret }))
            .send()
            .await?;
        let body: Value = expect(response, 200, "POST /api/v1/auth/token")
            .await?
            .json()
            .await?;
        let token = body["access_token"]
            .as_str()
            .context("the token answer has no access_token")?
            .to_owned();
        Ok(Self {
            client,
            base: server.origin(),
            token,
        })
    }

    async fn post(&self, path: &str, body: &Value, expected: u16) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        Ok(expect(response, expected, &format!("POST {path}"))
            .await?
            .json()
            .await?)
    }

    /// `count` customers, each with an active home policy covering the last
    /// 100 days; their policy numbers.
    pub async fn active_policies(&self, count: usize) -> anyhow::Result<Vec<String>> {
        let run = uuid::Uuid::now_v7().simple().to_string();
        let (starts, ends) = (days_from_today(-100)?, days_from_today(265)?);
        let mut numbers = Vec::with_capacity(count);
        for i in 0..count {
            let customer = self
                .post(
                    "/api/v1/customers",
                    &json!({ "first_name": "Bench", "last_name": format!("Holder {}", letters(i)), "email": format!("bench.{run}.{i}@example.com") }),
                    201,
                )
                .await?;
            let customer_id = customer["id"].as_str().context("customer id")?;
            let policy = self
                .post(
                    "/api/v1/policies",
                    &json!({
                        "customer_id": customer_id, "line": "home", "starts_on": starts, "ends_on": ends,
                        "premium": { "amount": 120_000, "currency": "USD" },
                        "coverage_limit": { "amount": 5_000_000, "currency": "USD" },
                        "deductible": { "amount": 50_000, "currency": "USD" },
                    }),
                    201,
                )
                .await?;
            let policy_id = policy["id"].as_str().context("policy id")?;
            self.post(
                &format!("/api/v1/policies/{policy_id}/actions"),
                &json!({ "action": "activate" }),
                200,
            )
            .await?;
            numbers.push(
                policy["policy_number"]
                    .as_str()
                    .context("policy number")?
                    .to_owned(),
            );
        }
        Ok(numbers)
    }

    /// `POST /api/v1/claims` with a fresh `Idempotency-Key`; the claim's id.
    pub async fn submit(&self, claim: &Value, key: &str) -> anyhow::Result<String> {
        let response = self
            .client
            .post(format!("{}/api/v1/claims", self.base))
            .bearer_auth(&self.token)
            .header("idempotency-key", key)
            .json(claim)
            .send()
            .await?;
        let receipt: Value = expect(response, 202, "POST /api/v1/claims")
            .await?
            .json()
            .await?;
        Ok(receipt["id"]
            .as_str()
            .context("the receipt has no id")?
            .to_owned())
    }

    /// `GET /api/v1/claims/{id}`, body read in full.
    pub async fn read(&self, id: &str) -> anyhow::Result<usize> {
        let response = self
            .client
            .get(format!("{}/api/v1/claims/{id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let body = expect(response, 200, "GET /api/v1/claims/{id}")
            .await?
            .bytes()
            .await?;
        Ok(body.len())
    }
}

/// What every ingestion phase sends: an API client issued by the operator
/// command and signed in, and one claim body per active policy (so the
/// load is spread over policies), each sent under a fresh key.
#[derive(Clone)]
pub struct ClaimFeed {
    pub api: Api,
    bodies: Arc<Vec<Value>>,
    /// Makes the idempotency keys of this feed unique across runs.
    run: String,
}

impl ClaimFeed {
    /// Issues an API client on `target`, signs it in to `server` and creates
    /// `policies` active policies (at least one) to claim on.
    pub async fn prepare(
        target: &Target,
        launch: &Launch,
        server: &Server,
        client: reqwest::Client,
        policies: usize,
    ) -> anyhow::Result<Self> {
        let issued = target
            .run(
                launch,
                &["create-api-client", "--name", "bench", "--internal"],
                &[],
            )
            .await?;
        let (client_id, client_secret) = (
            server::printed_value(&issued, "client_id")?,
            server::printed_value(&issued, "client_secret")?,
        );
        let api = Api::sign_in(client, server, &client_id, &client_secret).await?;
        let incident = days_from_today(-1)?;
        let bodies = api
            .active_policies(policies.max(1))
            .await?
            .iter()
            .map(|number| claim_body(number, &incident))
            .collect();
        Ok(Self {
            api,
            bodies: Arc::new(bodies),
            run: uuid::Uuid::now_v7().simple().to_string(),
        })
    }

    /// The same API client and claims, sent to another replica of the same
    /// database (its token is as valid there).
    pub fn to(&self, server: &Server) -> Self {
        let mut other = self.clone();
        other.api.base = server.origin();
        other
    }

    /// Submits the claim on policy `index` (modulo their count) under the
    /// key `bench-<run>-<tag>`: a tag is used once per feed. The claim's id.
    pub async fn submit(&self, index: usize, tag: &str) -> anyhow::Result<String> {
        let body = self
            .bodies
            .get(index % self.bodies.len().max(1))
            .context("no claim body")?;
        self.api
            .submit(body, &format!("bench-{}-{tag}", self.run))
            .await
    }
}

/// `i` in letters (names take no digits): 0 -> "A", 25 -> "Z", 26 -> "BA".
fn letters(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(char::from(b'A' + u8::try_from(i % 26).unwrap_or_default()));
        i /= 26;
        if i == 0 {
            break;
        }
    }
    out.iter().rev().collect()
}

/// Signs `browser` (a client with a cookie store) in through the sign-in
/// form, as the page's own form posts it: the action is read from
/// `/login`, and `Origin` is the server's (the CSRF check).
pub async fn staff_session(
    browser: &reqwest::Client,
    server: &Server,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    let page = expect(
        browser.get(server.url("/login")).send().await?,
        200,
        "GET /login",
    )
    .await?
    .text()
    .await?;
    let action = form_action(&page, "login").context("the sign-in page has no login form")?;
    let response = browser
        .post(server.url(&action))
        .header("origin", server.origin())
        .form(&[("email", email), ("password", password)])
        .send()
        .await?;
    if !matches!(response.status().as_u16(), 200 | 303) {
        expect(response, 200, &format!("POST {action} (sign-in)")).await?;
    }
    Ok(())
}

/// The `action` of the first form whose action mentions `needle`.
fn form_action(html: &str, needle: &str) -> Option<String> {
    html.match_indices("action=\"").find_map(|(at, found)| {
        let rest = html.get(at + found.len()..)?;
        let value = rest.get(..rest.find('"')?)?;
        value.contains(needle).then(|| value.replace("&amp;", "&"))
    })
}

/// The rows of the claims table on a rendered `/claims` page.
pub fn claim_rows(html: &str) -> usize {
    let Some(start) = html.find("id=\"claim-table\"") else {
        return 0;
    };
    let table = html.get(start..).unwrap_or_default();
    let table = table
        .get(..table.find("</table>").unwrap_or(table.len()))
        .unwrap_or_default();
    let body = table
        .get(table.find("<tbody").unwrap_or(0)..)
        .unwrap_or_default();
    body.matches("<tr").count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_login_action_and_counts_rows() {
        let html = r#"<form method="post" action="/api/search"></form><form method="post" action="/api/login12345?x=1&amp;y=2">"#;
        assert_eq!(
            form_action(html, "login").as_deref(),
            Some("/api/login12345?x=1&y=2")
        );
        let page = r#"<table class="data-table" id="claim-table"><thead><tr><th>N</th></tr></thead><tbody><tr><td>1</td></tr><tr class="sla-breached"><td>2</td></tr></tbody></table><table><tr></tr></table>"#;
        assert_eq!(claim_rows(page), 2);
        assert_eq!(claim_rows("<p>none</p>"), 0);
    }

    #[test]
    fn names_in_letters() {
        assert_eq!(letters(0), "A");
        assert_eq!(letters(25), "Z");
        assert_eq!(letters(27), "BB");
    }

    #[test]
    fn dates_are_iso() {
        let today = days_from_today(0).unwrap_or_default();
        assert_eq!(today.len(), 10);
        assert_eq!(today.get(4..5), Some("-"));
    }
}
