//! Several writes sent as one statement, so a handler that stores five
//! things pays one round trip for them, not five.
//!
//! On PostgreSQL a [`Batch`] of `INSERT`/`UPDATE`/`DELETE` statements runs
//! as one statement of data-modifying CTEs
//! (`WITH w1 AS (INSERT ...), w2 AS (INSERT ...) INSERT ...`): every part
//! runs exactly once, foreign keys between the parts are checked at the end
//! of the statement (so a claim's lines may reference the claim inserted
//! beside them), and one failing part fails the whole statement. The parts
//! must not depend on each other's effects (they all see the snapshot of the
//! statement's start) nor touch the same row twice. SQLite has no
//! data-modifying CTEs; there the parts run one after another on the same
//! connection, which costs no round trip (the engine is in-process).

use sqlx::AnyConnection;

use crate::db::Engine;

/// A value bound to a statement of a [`Batch`].
#[derive(Debug, Clone)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Bytes(Option<Vec<u8>>),
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Self::Text(Some(value.to_owned()))
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Self::Text(Some(value))
    }
}

impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Self {
        Self::Text(value)
    }
}

impl From<Option<&str>> for Arg {
    fn from(value: Option<&str>) -> Self {
        Self::Text(value.map(str::to_owned))
    }
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Self::Int(Some(value))
    }
}

impl From<Option<Vec<u8>>> for Arg {
    fn from(value: Option<Vec<u8>>) -> Self {
        Self::Bytes(value)
    }
}

/// Data-modifying statements to run together (see the module docs). Each
/// statement numbers its own placeholders from `$1`.
#[derive(Debug, Default)]
pub struct Batch {
    statements: Vec<(String, Vec<Arg>)>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `sql` (an `INSERT`, `UPDATE` or `DELETE` without `RETURNING`)
    /// with its values for `$1`, `$2`, ...
    pub fn push(&mut self, sql: impl Into<String>, args: Vec<Arg>) {
        self.statements.push((sql.into(), args));
    }

    pub fn len(&self) -> usize {
        self.statements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Runs every statement on `conn`: one round trip on PostgreSQL.
    pub async fn execute(
        self,
        conn: &mut AnyConnection,
        engine: Engine,
    ) -> Result<(), sqlx::Error> {
        match engine {
            Engine::Postgres if self.statements.len() > 1 => {
                let (sql, args) = self.combined();
                bind_all(sqlx::query(&sql), args)
                    .execute(&mut *conn)
                    .await?;
            }
            _ => {
                for (sql, args) in self.statements {
                    bind_all(sqlx::query(&sql), args)
                        .execute(&mut *conn)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// The statements as one PostgreSQL statement, placeholders renumbered.
    fn combined(self) -> (String, Vec<Arg>) {
        let mut sql = String::new();
        let mut all = Vec::new();
        let last = self.statements.len().saturating_sub(1);
        for (index, (statement, args)) in self.statements.into_iter().enumerate() {
            let statement = shift_placeholders(&statement, all.len());
            if index == 0 && index < last {
                sql.push_str("WITH ");
            }
            if index < last {
                sql.push_str(&format!("w{index} AS ({statement}), "));
            } else {
                // The last part is the statement's own body: drop the
                // trailing ", " of the CTE list before it.
                if sql.ends_with(", ") {
                    sql.truncate(sql.len() - 2);
                    sql.push(' ');
                }
                sql.push_str(&statement);
            }
            all.extend(args);
        }
        (sql, all)
    }
}

/// `query` with `args` bound to its placeholders in order.
pub fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(value) => query.bind(value),
            Arg::Int(value) => query.bind(value),
            Arg::Bytes(value) => query.bind(value),
        };
    }
    query
}

/// `sql` with every `$n` placeholder moved up by `offset`. The statements
/// of this crate carry no `$` inside string literals, which this relies on.
fn shift_placeholders(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_move_up_by_the_values_before_them() {
        assert_eq!(
            shift_placeholders("VALUES ($1, $2, $10)", 3),
            "VALUES ($4, $5, $13)"
        );
        assert_eq!(shift_placeholders("($1)", 0), "($1)");
    }

    #[test]
    fn statements_combine_into_one_with_data_modifying_ctes() {
        let mut batch = Batch::new();
        batch.push("INSERT INTO a (x) VALUES ($1)", vec!["1".into()]);
        batch.push(
            "INSERT INTO b (x, y) VALUES ($1, $2)",
            vec!["2".into(), 3.into()],
        );
        batch.push("UPDATE c SET x = $1", vec!["4".into()]);
        let (sql, args) = batch.combined();
        assert_eq!(
            sql,
            "WITH w0 AS (INSERT INTO a (x) VALUES ($1)), w1 AS (INSERT INTO b (x, y) VALUES ($2, $3)) \
             UPDATE c SET x = $4"
        );
        assert_eq!(args.len(), 4);
    }
}
