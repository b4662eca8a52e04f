//! The soak's verdict. The first third of the samples is warm-up; the last
//! third is compared with the middle one. A figure that could not be read
//! is a failure, never a flat reading: a window in which no webhook was
//! acknowledged has no latency (not a low one), and a broker-stats call
//! that failed has no depth (not an empty queue).

/// One sample of the service.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Sample {
    pub(crate) at_s: u64,
    pub(crate) rss_mib: f64,
    pub(crate) fds: usize,
    /// Work + retry queue depth; `None` when the broker-stats call failed.
    pub(crate) queued: Option<u64>,
    pub(crate) settled: f64,
    /// Webhooks acknowledged in the window.
    pub(crate) acks: usize,
    /// `None` when the window holds no acknowledged webhook.
    pub(crate) ack_p99_ms: Option<f64>,
}

/// Figures of one compared third.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Third {
    pub(crate) rss_mib: f64,
    pub(crate) fds: usize,
    /// Mean over the samples whose stats call worked (`None`: none did).
    pub(crate) queued: Option<f64>,
    /// Mean over the windows that had acks (`None`: none had).
    pub(crate) ack_p99_ms: Option<f64>,
    pub(crate) settled_per_s: f64,
    pub(crate) empty_windows: usize,
    pub(crate) stats_failures: usize,
}

/// Events the service finished other than by pushing them, from its
/// `so_events_processed_total` by outcome at the last sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub(crate) struct Outcomes {
    /// Older versions dropped: reported, since every event is new they
    /// should be none.
    pub(crate) stale: u64,
    /// Failed sends to Ometria that gave up: these fail the run.
    pub(crate) dead_lettered: u64,
    pub(crate) parked: u64,
}

impl Outcomes {
    /// Reads the counts from a Prometheus page.
    pub(crate) fn read(page: &str) -> Outcomes {
        let count = |outcome: &str| -> u64 {
            let label = format!("outcome=\"{outcome}\"");
            page.lines()
                .filter(|l| l.starts_with("so_events_processed_total{") && l.contains(&label))
                .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
                .sum::<f64>() as u64
        };
        Outcomes {
            stale: count("stale"),
            dead_lettered: count("dead_lettered"),
            parked: count("parked"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Verdict {
    pub(crate) mid: Third,
    pub(crate) last: Third,
    /// Figures that keep growing.
    pub(crate) growing: Vec<&'static str>,
    /// Everything else that fails the run: errors and unreadable figures.
    pub(crate) failures: Vec<String>,
    /// Over the whole run, warm-up included.
    pub(crate) empty_windows: usize,
    pub(crate) stats_failures: usize,
}

impl Verdict {
    pub(crate) fn passed(&self) -> bool {
        self.growing.is_empty() && self.failures.is_empty()
    }

    pub(crate) fn summary(&self) -> String {
        if self.passed() {
            return "flat".to_owned();
        }
        let mut parts = Vec::new();
        if !self.growing.is_empty() {
            parts.push(format!("growing: {}", self.growing.join(", ")));
        }
        parts.extend(self.failures.iter().cloned());
        format!("failed ({})", parts.join("; "))
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = xs.collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn third(w: &[Sample]) -> Third {
    let settled_per_s = match (w.first(), w.last()) {
        (Some(a), Some(b)) if b.at_s > a.at_s => (b.settled - a.settled) / (b.at_s - a.at_s) as f64,
        _ => 0.0,
    };
    Third {
        rss_mib: mean(w.iter().map(|s| s.rss_mib)).unwrap_or(f64::NAN),
        fds: w.iter().map(|s| s.fds).max().unwrap_or(0),
        queued: mean(w.iter().filter_map(|s| s.queued).map(|q| q as f64)),
        ack_p99_ms: mean(w.iter().filter_map(|s| s.ack_p99_ms)),
        settled_per_s,
        empty_windows: w.iter().filter(|s| s.ack_p99_ms.is_none()).count(),
        stats_failures: w.iter().filter(|s| s.queued.is_none()).count(),
    }
}

fn growing(mid: &Third, last: &Third) -> Vec<&'static str> {
    let mut out = Vec::new();
    if last.rss_mib - mid.rss_mib > (mid.rss_mib * 0.15).max(16.0) {
        out.push("memory");
    }
    if last.fds > mid.fds + 16 {
        out.push("file descriptors");
    }
    if let (Some(q_mid), Some(q_last)) = (mid.queued, last.queued)
        && q_last > (2.0 * q_mid).max(2_000.0)
    {
        out.push("queue depth");
    }
    if let (Some(p_mid), Some(p_last)) = (mid.ack_p99_ms, last.ack_p99_ms)
        && p_last > (3.0 * p_mid).max(100.0)
    {
        out.push("ack latency");
    }
    out
}

/// Judges a run: `sent` webhooks, of which `errors` got no 200.
pub(crate) fn judge(samples: &[Sample], sent: u64, errors: u64, outcomes: Outcomes) -> Verdict {
    let n = samples.len() / 3;
    let (mid, last) = (third(&samples[n..2 * n]), third(&samples[2 * n..]));
    let mut failures = Vec::new();
    if samples.len() < 3 {
        failures.push(format!("{} samples, three needed", samples.len()));
    }
    if sent == 0 {
        failures.push("nothing sent".to_owned());
    }
    if errors > 0 {
        failures.push(format!("{errors} webhooks not acknowledged"));
    }
    if outcomes.dead_lettered + outcomes.parked > 0 {
        failures.push(format!(
            "{} events dead-lettered, {} parked",
            outcomes.dead_lettered, outcomes.parked
        ));
    }
    let empty = mid.empty_windows + last.empty_windows;
    if empty > 0 {
        failures.push(format!("{empty} latency windows without an ack"));
    }
    let stats = mid.stats_failures + last.stats_failures;
    if stats > 0 {
        failures.push(format!("{stats} broker-stats calls failed"));
    }
    if mid.rss_mib.is_nan() || last.rss_mib.is_nan() {
        failures.push("service memory unreadable".to_owned());
    }
    Verdict {
        growing: growing(&mid, &last),
        failures,
        empty_windows: samples.iter().filter(|s| s.ack_p99_ms.is_none()).count(),
        stats_failures: samples.iter().filter(|s| s.queued.is_none()).count(),
        mid,
        last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(n: u64) -> Vec<Sample> {
        (1..=n)
            .map(|i| Sample {
                at_s: i * 5,
                rss_mib: 40.0,
                fds: 30,
                queued: Some(100),
                settled: (i * 5 * 200) as f64,
                acks: 1_000,
                ack_p99_ms: Some(3.0),
            })
            .collect()
    }

    #[test]
    fn a_steady_run_without_errors_is_flat() {
        let v = judge(&steady(9), 9_000, 0, Outcomes::default());
        assert!(v.passed(), "{}", v.summary());
        assert_eq!(v.summary(), "flat");
        assert_eq!(v.last.settled_per_s, 200.0);
    }

    #[test]
    fn an_empty_latency_window_fails_instead_of_reading_flat() {
        let mut s = steady(9);
        s[7].acks = 0;
        s[7].ack_p99_ms = None;
        let v = judge(&s, 9_000, 0, Outcomes::default());
        assert!(!v.passed());
        assert_eq!(v.last.empty_windows, 1);
        assert!(
            v.summary().contains("1 latency windows without an ack"),
            "{}",
            v.summary()
        );
        // The other windows still give the third a latency.
        assert_eq!(v.last.ack_p99_ms, Some(3.0));
    }

    #[test]
    fn a_third_without_any_ack_has_no_latency() {
        let mut s = steady(9);
        for x in &mut s[6..] {
            x.ack_p99_ms = None;
        }
        let v = judge(&s, 9_000, 0, Outcomes::default());
        assert_eq!(v.last.ack_p99_ms, None);
        assert!(!v.passed());
    }

    #[test]
    fn unacknowledged_webhooks_fail() {
        let v = judge(&steady(9), 9_000, 1, Outcomes::default());
        assert!(!v.passed());
        assert!(
            v.summary().contains("1 webhooks not acknowledged"),
            "{}",
            v.summary()
        );
    }

    #[test]
    fn a_failed_stats_call_is_reported_not_read_as_empty() {
        let mut s = steady(9);
        s[1].queued = None;
        let v = judge(&s, 9_000, 0, Outcomes::default());
        assert_eq!(v.stats_failures, 1);
        assert!(v.passed(), "a warm-up failure is reported only");
        s[4].queued = None;
        let v = judge(&s, 9_000, 0, Outcomes::default());
        assert_eq!((v.stats_failures, v.mid.stats_failures), (2, 1));
        assert_eq!(v.mid.queued, Some(100.0), "the mean skips the failed call");
        assert!(
            v.summary().contains("1 broker-stats calls failed"),
            "{}",
            v.summary()
        );
    }

    #[test]
    fn growth_still_fails() {
        let mut s = steady(9);
        for x in &mut s[6..] {
            x.rss_mib = 80.0;
            x.queued = Some(10_000);
        }
        let v = judge(&s, 9_000, 0, Outcomes::default());
        assert_eq!(v.growing, ["memory", "queue depth"]);
        assert!(v.failures.is_empty());
    }

    #[test]
    fn dead_letters_fail_and_stale_drops_are_read_by_outcome() {
        let page = "so_events_processed_total{shop=\"a\",topic=\"orders\",outcome=\"pushed\"} 90\n\
                    so_events_processed_total{shop=\"a\",topic=\"orders\",outcome=\"stale\"} 3\n\
                    so_events_processed_total{shop=\"a\",topic=\"refunds\",outcome=\"stale\"} 1\n\
                    so_events_processed_total{shop=\"a\",topic=\"orders\",outcome=\"dead_lettered\"} 2\n";
        let o = Outcomes::read(page);
        assert_eq!((o.stale, o.dead_lettered, o.parked), (4, 2, 0));
        let v = judge(&steady(9), 9_000, 0, o);
        assert!(
            v.summary().contains("2 events dead-lettered"),
            "{}",
            v.summary()
        );
        let stale_only = Outcomes {
            stale: 4,
            ..Outcomes::default()
        };
        assert!(judge(&steady(9), 9_000, 0, stale_only).passed());
    }

    #[test]
    fn too_few_samples_or_nothing_sent_fail() {
        assert!(!judge(&steady(2), 10, 0, Outcomes::default()).passed());
        assert!(!judge(&steady(9), 0, 0, Outcomes::default()).passed());
        let mut s = steady(9);
        s[8].rss_mib = f64::NAN;
        assert!(!judge(&s, 9_000, 0, Outcomes::default()).passed());
    }
}
