//! The limited phase's requests: the fewest they could have been, and a
//! diagnostic dump of each.

use so_domain::ometria::RecordType;

/// Per record type, its records in requests of 100, summed.
pub(crate) fn fewest(ok: &[&so_fake_ometria::RequestRecord]) -> usize {
    let mut by_type: std::collections::HashMap<Option<RecordType>, usize> =
        std::collections::HashMap::new();
    for r in ok {
        *by_type.entry(r.record_type).or_default() += r.records;
    }
    by_type.values().map(|n| n.div_ceil(100)).sum()
}

/// With `BENCH_DUMP_REQUESTS` set, each accepted request (time since the
/// first, type, records) on stderr: where the part-filled ones fall.
pub(crate) fn dump(ok: &[&so_fake_ometria::RequestRecord]) {
    if std::env::var_os("BENCH_DUMP_REQUESTS").is_none() {
        return;
    }
    let Some(first) = ok.first() else { return };
    for r in ok {
        eprintln!(
            "  request +{:.2}s {:?} {}",
            (r.at - first.at).as_secs_f64(),
            r.record_type,
            r.records
        );
    }
}
