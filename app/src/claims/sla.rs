//! SLA clocks: the acknowledge and decide deadlines per jurisdiction and
//! line ([`shared::sla`]), the rules table staff read and administrators
//! edit (audited), and (in [`ssr`]) stopping a claim's clocks and counting
//! the claims past their deadline. The page is `claims::pages::sla`.

use leptos::prelude::*;
use shared::sla::SlaRule;

use crate::error::AppError;

#[cfg(feature = "ssr")]
pub mod ssr;

/// Every rule (the fallback `*`/`*` first).
#[server]
pub async fn list_sla_rules() -> Result<Vec<SlaRule>, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::ClaimsRead, |call| async move {
        ssr::rules(&call.state.db).await
    })
    .await
}

/// Creates or replaces the rule for a jurisdiction and line (empty or `*`:
/// any); hours as the form posts them.
#[server]
pub async fn save_sla_rule(
    jurisdiction: String,
    line: String,
    acknowledge_hours: String,
    decide_hours: String,
) -> Result<(), AppError> {
    use crate::server_call::serve;
    use shared::{auth::Permission, sla::SlaRuleInput};
    serve(Permission::OperationsManage, |call| async move {
        let input = SlaRuleInput {
            jurisdiction,
            line,
            acknowledge_hours,
            decide_hours,
        };
        ssr::save_rule(&call.state.db, &call.context, &call.principal, &input)
            .await
            .map(|_| ())
    })
    .await
}

/// Deletes a rule (not the fallback): claims filed from now on get the next
/// most specific one; claims already filed keep their deadlines.
#[server]
pub async fn delete_sla_rule(jurisdiction: String, line: String) -> Result<(), AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::OperationsManage, |call| async move {
        ssr::delete_rule(&call.state.db, &call.context, &jurisdiction, &line).await
    })
    .await
}
