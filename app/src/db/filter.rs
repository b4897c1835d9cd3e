//! The `WHERE` clause of a list query, built from optional filters, and the
//! page it reads: counted, and read by offset or by keyset cursor.

use sqlx::Row as _;

use super::Db;

/// One value of a keyset cursor (see [`Filter::after`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum KeyValue {
    Int(i64),
    Text(String),
}

/// A keyset condition: the sort key, (expression, descending) from first to
/// last, and the values of the row the page follows.
type Keyset = (Vec<(String, bool)>, Vec<KeyValue>);

/// The `WHERE` clause of a list query, built from optional filters: each
/// condition gets the next `$n` placeholder for its (text) value.
#[derive(Debug, Default)]
pub struct Filter {
    conditions: Vec<String>,
    binds: Vec<String>,
    /// The keyset condition: it narrows the page, not the count. Its
    /// placeholders follow the filter's (`$n` is `binds.len() + n`).
    after: Option<Keyset>,
}

/// A page of rows and what is known about the rest.
pub struct FetchedPage {
    pub rows: Vec<sqlx::any::AnyRow>,
    /// Matching rows (the filter's, whatever the cursor), counted up to
    /// the page request's count limit.
    pub total: u64,
    /// A row follows the last one of `rows`.
    pub more: bool,
}

impl Filter {
    /// Adds `column = $n` bound to `value`.
    pub fn equals(&mut self, column: &str, value: String) {
        self.compare(column, "=", value);
    }

    /// Adds `column <op> $n` bound to `value`.
    pub fn compare(&mut self, column: &str, op: &str, value: String) {
        self.binds.push(value);
        self.conditions
            .push(format!("{column} {op} ${}", self.binds.len()));
    }

    /// Adds `condition` with its `{}` replaced by the next placeholder,
    /// bound to `value`: for a condition on another table through a
    /// subquery (the count runs over the list's own table only, so a join
    /// the page's select has is not in scope there).
    pub fn bound(&mut self, condition: &str, value: String) {
        self.binds.push(value);
        self.conditions
            .push(condition.replace("{}", &format!("${}", self.binds.len())));
    }

    /// Adds a condition without a value.
    pub fn literal(&mut self, condition: &str) {
        self.conditions.push(condition.to_owned());
    }

    /// Keeps only the rows after the one whose sort key is `values`, in the
    /// order `keys` (expression, descending) sorts them: keyset pagination,
    /// which reads a later page from the index at the cursor instead of
    /// skipping every earlier row as `OFFSET` does. The keys end with a
    /// unique column, so no two rows tie.
    pub fn after(&mut self, keys: &[(&str, bool)], values: Vec<KeyValue>) {
        self.after = Some((
            keys.iter()
                .map(|(expression, descending)| ((*expression).to_owned(), *descending))
                .collect(),
            values,
        ));
    }

    fn clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        }
    }

    /// The keyset condition, its placeholders from `$first` on. One
    /// direction: a row comparison, which both engines answer with an
    /// index range. Mixed directions: the same in expanded form, behind a
    /// bound on the first key so that the index still narrows the scan.
    fn keyset(&self, first: usize) -> Option<String> {
        let (keys, values) = self.after.as_ref()?;
        let value = |i: usize| match values.get(i) {
            Some(KeyValue::Int(_)) => format!("CAST(${} AS BIGINT)", first + i),
            _ => format!("${}", first + i),
        };
        let op = |descending: bool, strict: bool| match (descending, strict) {
            (true, true) => "<",
            (true, false) => "<=",
            (false, true) => ">",
            (false, false) => ">=",
        };
        let descending = keys.first().is_some_and(|(_, d)| *d);
        if keys.iter().all(|(_, d)| *d == descending) {
            let columns = keys.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>();
            let bound = (0..keys.len()).map(value).collect::<Vec<_>>();
            return Some(format!(
                "({}) {} ({})",
                columns.join(", "),
                op(descending, true),
                bound.join(", ")
            ));
        }
        let alternatives = (0..keys.len())
            .map(|i| {
                let mut parts = (0..i)
                    .map(|j| format!("{} = {}", keys[j].0, value(j)))
                    .collect::<Vec<_>>();
                parts.push(format!(
                    "{} {} {}",
                    keys[i].0,
                    op(keys[i].1, true),
                    value(i)
                ));
                format!("({})", parts.join(" AND "))
            })
            .collect::<Vec<_>>();
        Some(format!(
            "{} {} {} AND ({})",
            keys[0].0,
            op(keys[0].1, false),
            value(0),
            alternatives.join(" OR ")
        ))
    }

    /// Up to `limit` rows of `select` (ending with its FROM/JOIN clause)
    /// under this filter, in `order_by` order: a list without a total.
    pub async fn fetch_all(
        &self,
        db: &Db,
        select: &str,
        order_by: &str,
        limit: i64,
    ) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
        let sql = format!(
            "{select}{} ORDER BY {order_by} LIMIT ${}",
            self.clause(),
            self.binds.len() + 1
        );
        let mut query = sqlx::query(&sql);
        for bind in &self.binds {
            query = query.bind(bind);
        }
        query.bind(limit).fetch_all(db.pool()).await
    }

    /// One page of `select` (see [`Filter::fetch`]) and the capped total.
    pub async fn fetch_page(
        &self,
        db: &Db,
        select: &str,
        count_from: &str,
        order_by: &str,
        page: shared::pagination::PageRequest,
    ) -> Result<(Vec<sqlx::any::AnyRow>, u64), sqlx::Error> {
        let fetched = self.fetch(db, select, count_from, order_by, page).await?;
        Ok((fetched.rows, fetched.total))
    }

    /// One page of `select` (which starts with `SELECT ` and ends with its
    /// FROM/JOIN clause, the table aliased as in `count_from`) under this
    /// filter, after the keyset cursor if any (then from the first row on,
    /// whatever `page` says), and the number of matching rows counted up to
    /// [`PageRequest::count_limit`](shared::pagination::PageRequest::count_limit):
    /// one statement. The capped count is an uncorrelated sub-select in the
    /// page's own select list (evaluated once, and it stops at the cap
    /// instead of scanning every match); one row more than the page is
    /// asked for, to know whether another follows. Only a page past the
    /// end, which has no row to carry the count, costs a second statement.
    pub async fn fetch(
        &self,
        db: &Db,
        select: &str,
        count_from: &str,
        order_by: &str,
        page: shared::pagination::PageRequest,
    ) -> Result<FetchedPage, sqlx::Error> {
        let clause = self.clause();
        let n = self.binds.len();
        let columns = select.strip_prefix("SELECT ").ok_or_else(|| {
            sqlx::Error::Protocol("a page's select must start with `SELECT `".into())
        })?;
        let capped = |at: usize| {
            format!(
                "(SELECT COUNT(*) FROM (SELECT 1 AS one FROM {count_from}{clause} LIMIT ${at}) capped)"
            )
        };
        let after_values = self.after.as_ref().map_or(&[][..], |(_, v)| v.as_slice());
        let k = after_values.len();
        let page_clause = match self.keyset(n + 1) {
            None => clause.clone(),
            Some(keyset) if clause.is_empty() => format!(" WHERE {keyset}"),
            Some(keyset) => format!("{clause} AND {keyset}"),
        };
        let offset = if self.after.is_some() {
            0
        } else {
            page.offset()
        };
        let list_sql = format!(
            "SELECT {} AS page_total, {columns}{page_clause} ORDER BY {order_by} LIMIT ${} OFFSET ${}",
            capped(n + k + 1),
            n + k + 2,
            n + k + 3
        );
        let count_limit = i64::try_from(page.count_limit()).unwrap_or(i64::MAX);
        let limit = usize::try_from(page.limit()).unwrap_or(usize::MAX);
        let mut query = sqlx::query(&list_sql);
        for bind in &self.binds {
            query = query.bind(bind);
        }
        for value in after_values {
            query = match value {
                // Bound as text and cast in SQL, like every filter value.
                KeyValue::Int(number) => query.bind(number.to_string()),
                KeyValue::Text(text) => query.bind(text.clone()),
            };
        }
        let mut rows = query
            .bind(count_limit)
            .bind(i64::from(page.limit()) + 1)
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(db.pool())
            .await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let total = match rows.first() {
            Some(row) => row.try_get::<i64, _>("page_total")?,
            None if offset == 0 && self.after.is_none() => 0,
            None => {
                let count_sql = format!("SELECT {}", capped(n + 1));
                let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
                for bind in &self.binds {
                    count = count.bind(bind);
                }
                count.bind(count_limit).fetch_one(db.pool()).await?
            }
        };
        Ok(FetchedPage {
            rows,
            total: u64::try_from(total).unwrap_or_default(),
            more,
        })
    }
}
