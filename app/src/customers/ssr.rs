//! Every SQL statement on customers, and the services the server functions
//! and the JSON API share. Personal data goes through the vault on its way
//! in and out: the table holds envelopes and blind indexes only.

use serde_json::json;
use shared::{
    FieldErrors,
    confirm::Irreversible,
    contact::{Address, Email, NationalId, PersonName, Phone, mask_name},
    customer::{
        CustomerView, ERASED, NewCustomer, NewCustomerInput, PiiField, RevealReason,
        mask_date_of_birth,
    },
    dates::Date,
    pagination::{Page, PageRequest},
};
use sqlx::{Row as _, any::AnyRow};

use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    clock::today,
    db::{Db, Filter, new_id, now_micros},
    error::AppError,
    numbering::Numbers,
    tenancy::{self, Scope},
    vault::{
        IndexedColumn, Vault, WrappedKey,
        crypto::SecretKey,
        unreadable::{self, UNREADABLE},
    },
};

mod update;
pub use self::update::update;

const TABLE: &str = "customers";

/// Last names are searched case-insensitively: the index is of the
/// lower-cased name.
fn last_name_key(name: &PersonName) -> String {
    name.as_str().to_lowercase()
}

/// The blind index of a last name, as the customers table stores it: what
/// another feature matches a customer's name by without decrypting it.
pub fn last_name_index(vault: &Vault, name: &PersonName) -> String {
    vault.index(IndexedColumn::LastName, &last_name_key(name))
}

struct Sealed {
    first_name: Vec<u8>,
    last_name: Vec<u8>,
    email: Vec<u8>,
    phone: Option<Vec<u8>>,
    date_of_birth: Option<Vec<u8>>,
    address: Option<Vec<u8>>,
    national_id: Option<Vec<u8>>,
}

fn seal_customer(
    vault: &Vault,
    dek: &SecretKey,
    id: &str,
    customer: &NewCustomer,
) -> Result<Sealed, AppError> {
    let seal = |field: PiiField, value: &str| {
        vault
            .seal_field(dek, TABLE, field.as_str(), id, value)
            .map_err(|e| AppError::internal(&e))
    };
    let address = customer
        .address
        .as_ref()
        .map(|address| serde_json::to_string(address).map_err(|e| AppError::internal(&e)))
        .transpose()?;
    Ok(Sealed {
        first_name: seal(PiiField::FirstName, customer.first_name.as_str())?,
        last_name: seal(PiiField::LastName, customer.last_name.as_str())?,
        email: seal(PiiField::Email, customer.email.as_str())?,
        phone: customer
            .phone
            .as_ref()
            .map(|v| seal(PiiField::Phone, v.as_str()))
            .transpose()?,
        date_of_birth: customer
            .date_of_birth
            .map(|v| seal(PiiField::DateOfBirth, &v.to_string()))
            .transpose()?,
        address: address.map(|v| seal(PiiField::Address, &v)).transpose()?,
        national_id: customer
            .national_id
            .as_ref()
            .map(|v| seal(PiiField::NationalId, v.as_str()))
            .transpose()?,
    })
}

/// Creates a customer: data key, encrypted fields, blind indexes, customer
/// number and audit record in one transaction.
/// A partner's client creates the partner's customer (`scope`); staff and
/// internal clients the insurer's own.
pub async fn create(
    db: &Db,
    vault: &Vault,
    context: &AuditContext,
    scope: &Scope,
    input: &NewCustomerInput,
) -> Result<CustomerView, AppError> {
    let customer = NewCustomer::parse(input, Some(today()))?;
    let id = new_id();
    let counter = Numbers::prepare(db, "customer").await?;
    let mut tx = db.begin_write().await?;
    let number = format!("CUS-{:06}", counter.next(&mut tx).await?);
    let dek = vault.create_data_key(&mut tx, &id).await?;
    let sealed = seal_customer(vault, &dek, &id, &customer)?;
    let now = now_micros();
    sqlx::query(
        "INSERT INTO customers (id, customer_number, first_name, last_name, email, phone, date_of_birth, \
         address, national_id, email_index, last_name_index, national_id_index, version, created_at, updated_at, \
         partner_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13, $14)",
    )
    .bind(&id)
    .bind(&number)
    .bind(sealed.first_name)
    .bind(sealed.last_name)
    .bind(sealed.email)
    .bind(sealed.phone)
    .bind(sealed.date_of_birth)
    .bind(sealed.address)
    .bind(sealed.national_id)
    .bind(vault.index(IndexedColumn::Email, customer.email.as_str()))
    .bind(vault.index(IndexedColumn::LastName, &last_name_key(&customer.last_name)))
    .bind(customer.national_id.as_ref().map(|n| vault.index(IndexedColumn::NationalId, n.as_str())))
    .bind(now)
    .bind(scope.partner())
    .execute(&mut *tx)
    .await
    .map_err(|e| AppError::on_unique(e, "email", "is already the email of another customer"))?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "customer.created",
            entity_type: "customer",
            entity_id: Some(&id),
            // Which fields were given, never their values.
            details: json!({ "after": {
                "customer_number": number,
                "pii_fields": present_fields(&customer),
            }}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(masked_view(&id, &number, &customer, now, 1))
}

fn present_fields(customer: &NewCustomer) -> Vec<&'static str> {
    let mut fields = vec!["first_name", "last_name", "email"];
    for (present, name) in [
        (customer.phone.is_some(), "phone"),
        (customer.date_of_birth.is_some(), "date_of_birth"),
        (customer.address.is_some(), "address"),
        (customer.national_id.is_some(), "national_id"),
    ] {
        if present {
            fields.push(name);
        }
    }
    fields
}

fn masked_view(
    id: &str,
    number: &str,
    customer: &NewCustomer,
    created_at: i64,
    version: i64,
) -> CustomerView {
    CustomerView {
        id: id.to_owned(),
        customer_number: number.to_owned(),
        first_name: customer.first_name.mask(),
        last_name: customer.last_name.mask(),
        email: customer.email.mask(),
        phone: customer.phone.as_ref().map(Phone::mask),
        date_of_birth: customer.date_of_birth.as_ref().map(mask_date_of_birth),
        address: customer.address.as_ref().map(Address::mask),
        national_id: customer.national_id.as_ref().map(NationalId::mask),
        erased: false,
        created_at,
        version,
        unreadable_fields: Vec::new(),
    }
}

const SELECT: &str = "SELECT c.id, c.customer_number, c.first_name, c.last_name, c.email, c.phone, \
    c.date_of_birth, c.address, c.national_id, c.erased_at, c.created_at, c.version, \
    k.kek_id, k.wrapped_key FROM customers c LEFT JOIN customer_keys k ON k.customer_id = c.id";

/// A stored row: envelopes plus the wrapped data key that opens them.
struct Row {
    id: String,
    number: String,
    fields: Vec<(PiiField, Option<Vec<u8>>)>,
    erased: bool,
    created_at: i64,
    version: i64,
    key: WrappedKey,
}

fn from_row(row: &AnyRow) -> Result<Row, sqlx::Error> {
    let mut fields = Vec::with_capacity(PiiField::ALL.len());
    for field in PiiField::ALL {
        fields.push((field, row.try_get::<Option<Vec<u8>>, _>(field.as_str())?));
    }
    Ok(Row {
        id: row.try_get("id")?,
        number: row.try_get("customer_number")?,
        fields,
        erased: row.try_get::<Option<i64>, _>("erased_at")?.is_some(),
        created_at: row.try_get("created_at")?,
        version: row.try_get("version")?,
        key: WrappedKey::from_row(row)?,
    })
}

/// What a field shows: masked plaintext, `erased`, or `unreadable` when a
/// value does not decrypt (moved or damaged; listed in `unreadable_fields`,
/// which the caller reports with [`unreadable::report`]).
fn view_of(vault: &Vault, row: &Row) -> CustomerView {
    // `Ok(None)`: erased; `Err(())`: the key does not unwrap (logged).
    let dek: Result<Option<SecretKey>, ()> = if row.erased {
        Ok(None)
    } else {
        match vault.unwrap_key(&row.id, &row.key) {
            Ok(dek) => Ok(Some(dek)),
            Err(crate::vault::crypto::VaultError::Erased) => Ok(None),
            Err(error) => {
                tracing::error!(customer = %row.id, %error, "a customer's data key does not unwrap");
                Err(())
            }
        }
    };
    let unreadable_fields = std::cell::RefCell::new(Vec::new());
    let show = |field: PiiField| -> Option<String> {
        let (_, envelope) = row.fields.iter().find(|(f, _)| *f == field)?;
        let envelope = envelope.as_ref()?;
        let opened = match &dek {
            Ok(Some(dek)) => vault.open_field(dek, TABLE, field.as_str(), &row.id, envelope),
            Ok(None) => return Some(ERASED.to_owned()),
            Err(()) => Err(crate::vault::crypto::VaultError::Malformed),
        };
        match opened {
            Ok(plain) => Some(mask(field, &plain)),
            Err(_) => {
                unreadable_fields
                    .borrow_mut()
                    .push(field.as_str().to_owned());
                Some(UNREADABLE.to_owned())
            }
        }
    };
    let required = |field: PiiField| show(field).unwrap_or_else(|| ERASED.to_owned());
    let mut view = CustomerView {
        id: row.id.clone(),
        customer_number: row.number.clone(),
        first_name: required(PiiField::FirstName),
        last_name: required(PiiField::LastName),
        email: required(PiiField::Email),
        phone: show(PiiField::Phone),
        date_of_birth: show(PiiField::DateOfBirth),
        address: show(PiiField::Address),
        national_id: show(PiiField::NationalId),
        erased: row.erased,
        created_at: row.created_at,
        version: row.version,
        unreadable_fields: Vec::new(),
    };
    view.unreadable_fields = unreadable_fields.into_inner();
    view
}

/// [`view_of`], reporting its unreadable fields as a security event.
async fn reported_view(db: &Db, vault: &Vault, row: &Row) -> Result<CustomerView, AppError> {
    let view = view_of(vault, row);
    unreadable::report(db, "customer", &row.id, &view.unreadable_fields).await?;
    Ok(view)
}

/// Masks a decrypted value for display.
pub fn mask(field: PiiField, plain: &str) -> String {
    match field {
        PiiField::FirstName | PiiField::LastName => mask_name(plain),
        PiiField::Email => Email::parse("email", plain).map_or_else(|_| "***".into(), |e| e.mask()),
        PiiField::Phone => Phone::parse("phone", plain).map_or_else(|_| "***".into(), |p| p.mask()),
        PiiField::DateOfBirth => Date::parse("date_of_birth", plain)
            .map_or_else(|_| "***".into(), |d| mask_date_of_birth(&d)),
        PiiField::Address => {
            serde_json::from_str::<Address>(plain).map_or_else(|_| "***".into(), |a| a.mask())
        }
        PiiField::NationalId => {
            NationalId::parse("national_id", plain).map_or_else(|_| "***".into(), |n| n.mask())
        }
    }
}

/// Customers whose personal data is held (erased ones excluded).
pub async fn count(db: &Db) -> Result<i64, AppError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE erased_at IS NULL")
            .fetch_one(db.pool())
            .await?,
    )
}

pub async fn find(db: &Db, vault: &Vault, id: &str) -> Result<Option<CustomerView>, AppError> {
    let row = sqlx::query(&format!("{SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    match row.as_ref().map(from_row).transpose()? {
        Some(row) => Ok(Some(reported_view(db, vault, &row).await?)),
        None => Ok(None),
    }
}

/// Exact-match filters; each goes through its blind index.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub email: Option<String>,
    pub last_name: Option<String>,
    pub national_id: Option<String>,
    pub customer_number: Option<String>,
}

impl Search {
    /// One search box: an email, a customer number, a national id or a
    /// last name, told apart by shape.
    pub fn from_query(query: &str) -> Self {
        let query = query.trim();
        if query.is_empty() {
            Self::default()
        } else if query.contains('@') {
            Self {
                email: Some(query.into()),
                ..Self::default()
            }
        } else if query.to_uppercase().starts_with("CUS-") {
            Self {
                customer_number: Some(query.to_uppercase()),
                ..Self::default()
            }
        } else if query.chars().any(|c| c.is_ascii_digit()) {
            Self {
                national_id: Some(query.into()),
                ..Self::default()
            }
        } else {
            Self {
                last_name: Some(query.into()),
                ..Self::default()
            }
        }
    }
}

/// A page of customers, newest first, filtered through blind indexes.
pub async fn list(
    db: &Db,
    vault: &Vault,
    scope: &Scope,
    search: &Search,
    page: PageRequest,
) -> Result<Page<CustomerView>, AppError> {
    let mut errors = FieldErrors::new();
    let mut filter = Filter::default();
    tenancy::restrict(&mut filter, scope, "c.partner_id");
    let indexed = [
        (
            search
                .email
                .as_deref()
                .map(|raw| Email::parse("email", raw).map(|e| e.as_str().to_owned())),
            IndexedColumn::Email,
            "email_index",
        ),
        (
            search
                .last_name
                .as_deref()
                .map(|raw| PersonName::parse("last_name", raw).map(|n| last_name_key(&n))),
            IndexedColumn::LastName,
            "last_name_index",
        ),
        (
            search
                .national_id
                .as_deref()
                .map(|raw| NationalId::parse("national_id", raw).map(|n| n.as_str().to_owned())),
            IndexedColumn::NationalId,
            "national_id_index",
        ),
    ];
    for (parsed, column, sql_column) in indexed {
        if let Some(normalized) = parsed.and_then(|result| errors.check(result)) {
            filter.equals(&format!("c.{sql_column}"), vault.index(column, &normalized));
        }
    }
    if let Some(number) = &search.customer_number {
        filter.equals("c.customer_number", number.trim().to_uppercase());
    }
    errors.into_result()?;
    let (rows, total) = filter
        .fetch_page(
            db,
            SELECT,
            "customers c",
            "c.created_at DESC, c.id DESC",
            page,
        )
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(reported_view(db, vault, &from_row(row)?).await?);
    }
    Ok(Page::new(page, items, total))
}

/// Shows one field in clear to someone allowed to see it, for a stated
/// reason, and audits it (who, which field, why, correlation id).
pub async fn reveal(
    db: &Db,
    vault: &Vault,
    context: &AuditContext,
    id: &str,
    raw_field: &str,
    reason: &str,
) -> Result<Option<String>, AppError> {
    let mut errors = FieldErrors::new();
    let field = errors.check(PiiField::parse("field", raw_field));
    let reason = errors.check(RevealReason::parse("reason", reason));
    errors.clone().into_result()?;
    let (Some(field), Some(reason)) = (field, reason) else {
        return Err(errors.into());
    };

    let mut tx = db.begin_write().await?;
    let row = sqlx::query(&format!("{SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::NotFound("The customer".into()))?;
    let row = from_row(&row)?;
    if row.erased {
        return Err(AppError::Conflict(
            "This customer's personal data was erased.".into(),
        ));
    }
    let envelope = row
        .fields
        .iter()
        .find(|(f, _)| *f == field)
        .and_then(|(_, v)| v.clone());
    let value = match envelope {
        None => None,
        Some(envelope) => {
            let dek = vault
                .unwrap_key(&row.id, &row.key)
                .map_err(|e| AppError::internal(&e))?;
            match vault.open_field(&dek, TABLE, field.as_str(), &row.id, &envelope) {
                Ok(plain) => Some(plain),
                Err(_) => {
                    drop(tx);
                    let name = field.as_str();
                    unreadable::report(db, "customer", id, &[name.to_owned()]).await?;
                    return Err(unreadable::conflict(name));
                }
            }
        }
    };
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "customer.pii_revealed",
            entity_type: "customer",
            entity_id: Some(id),
            details: json!({ "field": field, "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(value)
}

/// Erasure (right to be forgotten): destroys the data key and the blind
/// indexes and clears the envelopes; the customer row, their policies and
/// claims and the audit trail remain. Needs `confirm=erase`: it is final.
pub async fn erase(
    db: &Db,
    vault: &Vault,
    context: &AuditContext,
    id: &str,
    confirm: Option<&str>,
) -> Result<(), AppError> {
    Irreversible::EraseCustomer
        .check(confirm)
        .map_err(FieldErrors::from)?;
    let mut tx = db.begin_write().await?;
    let erased = sqlx::query(
        "UPDATE customers SET first_name = NULL, last_name = NULL, email = NULL, phone = NULL, \
         date_of_birth = NULL, address = NULL, national_id = NULL, email_index = NULL, \
         last_name_index = NULL, national_id_index = NULL, erased_at = $2, updated_at = $2, \
         version = version + 1 WHERE id = $1 AND erased_at IS NULL",
    )
    .bind(id)
    .bind(now_micros())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if erased == 0 {
        return Err(AppError::NotFound(
            "A customer with personal data to erase".into(),
        ));
    }
    vault.destroy_key(&mut tx, id).await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "customer.erased",
            entity_type: "customer",
            entity_id: Some(id),
            details: json!({ "pii_fields": "all" }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_box_tells_emails_numbers_ids_and_names_apart() {
        assert_eq!(
            Search::from_query(" A@X.com ").email.as_deref(),
            Some("A@X.com")
        );
        assert_eq!(
            Search::from_query("cus-000012").customer_number.as_deref(),
            Some("CUS-000012")
        );
        assert_eq!(
            Search::from_query("123-45-6789").national_id.as_deref(),
            Some("123-45-6789")
        );
        assert_eq!(Search::from_query("Doe").last_name.as_deref(), Some("Doe"));
        assert!(Search::from_query("  ").email.is_none());
    }

    #[test]
    fn decrypted_values_are_masked_for_display() {
        assert_eq!(
            mask(PiiField::Email, "jane@example.com"),
            "j***@example.com"
        );
        assert_eq!(mask(PiiField::NationalId, "123456789"), "***-**-6789");
    }
}
