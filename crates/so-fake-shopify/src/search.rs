//! The `query:` argument of connections: Shopify's search syntax, the subset
//! the fake supports.
//!
//! - Terms are `field:value` separated by spaces, optionally joined with
//!   `AND` (every term must match); `OR`, `NOT`, `-field` and parentheses are
//!   not supported and make the term unknown.
//! - Values may be quoted with `'` or `"`; comparisons `>`, `>=`, `<`, `<=`
//!   apply to timestamps (RFC 3339, `YYYY-MM-DDTHH:MM:SS` as UTC, or a bare
//!   date at midnight UTC) and numbers (`id`).
//! - Plain values match case-insensitively; for list fields (`tag`) any
//!   element may match.
//! - A field the resource does not support is ignored with a warning in
//!   `extensions.search`, as Shopify does with invalid search fields.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// A value a record exposes to search.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Searchable {
    Time(DateTime<Utc>),
    Text(String),
    Number(u64),
    List(Vec<String>),
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Term {
    field: String,
    cmp: Cmp,
    value: String,
}

/// A parsed filter: the terms the resource knows, and the names it did not.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    terms: Vec<Term>,
    pub(crate) unknown: Vec<String>,
}

impl Filter {
    /// `known` lists the field names the resource supports.
    pub(crate) fn parse(query: Option<&str>, known: &[&str]) -> Filter {
        let mut filter = Filter::default();
        for token in tokens(query.unwrap_or_default()) {
            if token == "AND" {
                continue;
            }
            let Some((field, rest)) = token.split_once(':') else {
                filter.unknown.push(token);
                continue;
            };
            if !known.contains(&field) {
                filter.unknown.push(field.to_owned());
                continue;
            }
            let (cmp, value) = if let Some(v) = rest.strip_prefix(">=") {
                (Cmp::Ge, v)
            } else if let Some(v) = rest.strip_prefix("<=") {
                (Cmp::Le, v)
            } else if let Some(v) = rest.strip_prefix('>') {
                (Cmp::Gt, v)
            } else if let Some(v) = rest.strip_prefix('<') {
                (Cmp::Lt, v)
            } else {
                (Cmp::Eq, rest)
            };
            filter.terms.push(Term {
                field: field.to_owned(),
                cmp,
                value: unquote(value).to_owned(),
            });
        }
        filter
    }

    /// Whether a record matches every term; `field` reads the record.
    pub(crate) fn matches(&self, field: impl Fn(&str) -> Searchable) -> bool {
        self.terms.iter().all(|t| term_matches(t, &field(&t.field)))
    }
}

/// Splits on spaces outside quotes.
fn tokens(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    for ch in query.chars() {
        match (quote, ch) {
            (None, '\'' | '"') => {
                quote = Some(ch);
                cur.push(ch);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(ch);
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(ch),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unquote(v: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

pub(crate) fn parse_time(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn compare<T: PartialOrd>(cmp: Cmp, a: &T, b: &T) -> bool {
    match cmp {
        Cmp::Eq => a == b,
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
    }
}

fn term_matches(t: &Term, value: &Searchable) -> bool {
    match value {
        Searchable::Missing => false,
        Searchable::Time(at) => parse_time(&t.value).is_some_and(|v| compare(t.cmp, at, &v)),
        Searchable::Number(n) => t.value.parse::<u64>().is_ok_and(|v| compare(t.cmp, n, &v)),
        Searchable::Text(s) => t.cmp == Cmp::Eq && s.eq_ignore_ascii_case(&t.value),
        Searchable::List(items) => {
            t.cmp == Cmp::Eq && items.iter().any(|s| s.eq_ignore_ascii_case(&t.value))
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const KNOWN: &[&str] = &[
        "updated_at",
        "created_at",
        "email_marketing_state",
        "tag",
        "id",
    ];

    fn record(field: &str) -> Searchable {
        match field {
            "updated_at" => Searchable::Time(Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()),
            "created_at" => Searchable::Time(Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap()),
            "email_marketing_state" => Searchable::Text("SUBSCRIBED".to_owned()),
            "tag" => Searchable::List(vec!["vip".to_owned(), "wholesale".to_owned()]),
            "id" => Searchable::Number(42),
            _ => Searchable::Missing,
        }
    }

    fn matches(q: &str) -> bool {
        Filter::parse(Some(q), KNOWN).matches(record)
    }

    #[test]
    fn time_comparisons() {
        assert!(matches("updated_at:>'2024-05-01T11:59:59Z'"));
        assert!(!matches("updated_at:>'2024-05-01T12:00:00Z'"));
        assert!(matches("updated_at:>='2024-05-01T12:00:00Z'"));
        assert!(matches("updated_at:<=2024-05-02"));
        assert!(matches(
            "created_at:>=\"2023-01-01\" AND updated_at:<2025-01-01T00:00:00"
        ));
        assert!(!matches("created_at:>2023-01-01 updated_at:<2025-01-01"));
    }

    #[test]
    fn text_lists_and_numbers() {
        assert!(matches("email_marketing_state:subscribed"));
        assert!(!matches("email_marketing_state:UNSUBSCRIBED"));
        assert!(matches("tag:VIP"));
        assert!(matches("id:>41 id:<=42"));
    }

    #[test]
    fn unknown_fields_are_reported_and_ignored() {
        let f = Filter::parse(Some("colour:blue tag:vip"), KNOWN);
        assert_eq!(f.unknown, ["colour"]);
        assert!(f.matches(record));
    }
}
