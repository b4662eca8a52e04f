//! Where a replayed message goes: its entity's partition under the current
//! partition count.

use so_domain::{EntityKey, ShopDomain, TopicName, partition_for, route_payload};
use so_queue::{Names, Scanned};

use crate::OpsError;

/// The routing key of a replayed copy and, when it was derived from the
/// payload, the entity its header must name.
///
/// The payload decides: a webhook the ingress parked because its entity
/// could not be derived has no entity header, and a header written by an
/// older routing may be stale, so once the code routes the payload, that
/// answer wins. The header is the fallback for payloads that do not route
/// (or unreadable topics); the old routing key for messages without either.
pub(super) fn replay_route(
    names: &Names,
    m: &Scanned,
) -> Result<(String, Option<EntityKey>), OpsError> {
    let h = m.headers();
    let shop = h.shop.as_deref().and_then(|s| ShopDomain::parse(s).ok());
    let topic = h.topic.as_deref().and_then(|t| TopicName::parse(t).ok());
    let derived = topic.as_ref().map(|t| route_payload(t, &m.body));
    let from_header = h.entity.as_deref().and_then(EntityKey::parse);
    let entity = match (&derived, from_header) {
        (Some(Ok(entity)), _) => Some(entity.clone()),
        (_, Some(entity)) => Some(entity),
        (_, None) => None,
    };
    match (shop, entity) {
        (Some(shop), Some(entity)) => {
            let key = names.work_routing_key(partition_for(&shop, &entity, names.partitions()));
            let rewrite = derived.and_then(Result::ok);
            Ok((key, rewrite))
        }
        _ if m.routing_key.starts_with("work.") => Ok((m.routing_key.clone(), None)),
        _ => {
            let why = match derived {
                Some(Err(e)) => e.to_string(),
                _ => "no shop/entity headers to route it by".to_owned(),
            };
            Err(OpsError::invalid(
                "message",
                format!("message at position {} cannot be routed: {why}", m.position),
            ))
        }
    }
}
