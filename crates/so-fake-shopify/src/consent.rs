//! `customerEmailMarketingConsentUpdate` (shopify.md §5): validation as
//! userErrors, the update, and a record of the call and of the
//! `customers_email_marketing_consent/update` webhook Shopify would send.

use serde_json::{Map, Value, json};

use crate::document::Field;
use crate::errors::GqlError;
use crate::exec::{Ctx, parse_gid};
use crate::model::{EmailConsent, MarketingState, OptInLevel};
use crate::nodes;
use crate::project::project;
use crate::records::{ConsentWrite, UserErrorRecord, WebhookEcho};
use crate::search::parse_time;

/// Topic of the echo webhook.
pub const CONSENT_TOPIC: &str = "customers_email_marketing_consent/update";

fn user_error(field: &[&str], message: &str, code: &str) -> UserErrorRecord {
    UserErrorRecord {
        field: field.iter().map(|f| (*f).to_owned()).collect(),
        message: message.to_owned(),
        code: code.to_owned(),
    }
}

/// A value the input type cannot hold is a variable error, not a userError.
fn invalid_input(path: &str, value: &str, allowed: &str) -> GqlError {
    GqlError::new(format!(
        "Variable $input of type CustomerEmailMarketingConsentUpdateInput! was provided invalid value for {path} (Expected \"{value}\" to be one of: {allowed})"
    ))
    .code("INVALID_VARIABLE")
}

pub(crate) fn update(f: &Field, ctx: &mut Ctx<'_>) -> Result<Value, GqlError> {
    let input = f
        .args
        .get("input")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            GqlError::new(
                "Field 'customerEmailMarketingConsentUpdate' is missing required arguments: input",
            )
            .code("missingRequiredArguments")
        })?;
    let customer_gid = input.get("customerId").and_then(Value::as_str);
    let consent = input
        .get("emailMarketingConsent")
        .and_then(Value::as_object);
    let empty = Map::new();
    let consent_fields = consent.unwrap_or(&empty);
    let state_raw = consent_fields.get("marketingState").and_then(Value::as_str);
    let state = match state_raw {
        None => None,
        Some(s) => Some(MarketingState::parse(s).ok_or_else(|| {
            invalid_input(
                "emailMarketingConsent.marketingState",
                s,
                "INVALID, NOT_SUBSCRIBED, PENDING, REDACTED, SUBSCRIBED, UNSUBSCRIBED",
            )
        })?),
    };
    let level_raw = consent_fields
        .get("marketingOptInLevel")
        .and_then(Value::as_str);
    let level = match level_raw {
        None => None,
        Some(s) => Some(OptInLevel::parse(s).ok_or_else(|| {
            invalid_input(
                "emailMarketingConsent.marketingOptInLevel",
                s,
                "CONFIRMED_OPT_IN, SINGLE_OPT_IN, UNKNOWN",
            )
        })?),
    };
    let at_raw = consent_fields
        .get("consentUpdatedAt")
        .and_then(Value::as_str);
    let at = match at_raw {
        None => None,
        Some(s) => Some(parse_time(s).ok_or_else(|| {
            GqlError::new(format!(
                "Variable $input of type CustomerEmailMarketingConsentUpdateInput! was provided invalid value for emailMarketingConsent.consentUpdatedAt (invalid DateTime \"{s}\")"
            ))
            .code("INVALID_VARIABLE")
        })?),
    };

    let customer_id = customer_gid
        .and_then(parse_gid)
        .filter(|(kind, _)| *kind == "Customer")
        .map(|(_, id)| id);
    let mut errors = Vec::new();
    let known = customer_id.and_then(|id| ctx.shop.store.customers.get(&id));
    match known {
        None if customer_gid.is_none() => errors.push(user_error(
            &["input", "customerId"],
            "Customer ID is required",
            "MISSING_ARGUMENT",
        )),
        None => errors.push(user_error(
            &["input", "customerId"],
            "Customer does not exist",
            "INVALID",
        )),
        Some(c) if c.email.is_none() => errors.push(user_error(
            &["input", "customerId"],
            "Customer must have an email address to update email marketing consent",
            "INVALID",
        )),
        Some(_) => {}
    }
    match (consent, state) {
        (None, _) => errors.push(user_error(
            &["input", "emailMarketingConsent"],
            "Email marketing consent is required",
            "MISSING_ARGUMENT",
        )),
        (Some(_), None) => errors.push(user_error(
            &["input", "emailMarketingConsent", "marketingState"],
            "Marketing state is required",
            "MISSING_ARGUMENT",
        )),
        (Some(_), Some(s)) if !s.settable() => errors.push(user_error(
            &["input", "emailMarketingConsent", "marketingState"],
            "Marketing state is not included in the list",
            "INCLUSION",
        )),
        _ => {}
    }

    let mut customer_json = Value::Null;
    if let (true, Some(id), Some(state)) = (errors.is_empty(), customer_id, state)
        && let Some(c) = ctx.shop.store.customers.get_mut(&id)
    {
        let previous_level = c.email_consent.as_ref().and_then(|e| e.opt_in_level);
        c.email_consent = Some(EmailConsent {
            state,
            opt_in_level: level.or(previous_level).or(Some(OptInLevel::SingleOptIn)),
            consent_updated_at: Some(at.unwrap_or(ctx.now)),
        });
        c.updated_at = ctx.now;
        customer_json = nodes::customer(c);
        let payload = nodes::consent_webhook(c);
        let shop = ctx.shop.config.domain.clone();
        ctx.shop.webhooks.push(WebhookEcho {
            topic: CONSENT_TOPIC,
            shop,
            payload,
            at: ctx.now,
        });
    }
    let user_errors: Vec<Value> = errors
        .iter()
        .map(|e| {
            json!({
                "__typename": "CustomerEmailMarketingConsentUpdateUserError",
                "field": e.field,
                "message": e.message,
                "code": e.code,
            })
        })
        .collect();
    ctx.shop.consent_writes.push(ConsentWrite {
        customer_id,
        customer_gid: customer_gid.map(str::to_owned),
        state: state_raw.map(str::to_owned),
        opt_in_level: level_raw.map(str::to_owned),
        consent_updated_at: at,
        user_errors: errors,
        at: ctx.now,
    });
    let payload = json!({
        "__typename": "CustomerEmailMarketingConsentUpdatePayload",
        "customer": customer_json,
        "userErrors": user_errors,
    });
    project(&payload, &f.selection, ctx.mode)
}
