//! Prometheus text-format metrics, kept in memory per process.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the request-duration histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    durations: BTreeMap<String, Histogram>,
    webhook_outcomes: BTreeMap<&'static str, u64>,
    delivery_attempts: BTreeMap<&'static str, u64>,
    breaker_transitions: BTreeMap<(String, String), u64>,
}

/// Request counters, a duration histogram per route, and receiver outcomes.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl core::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Metrics")
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Records one finished request.
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        *inner
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        let histogram = inner.durations.entry(route.to_owned()).or_default();
        for (count, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }

    /// Records one answer of the inbound receiver by outcome code.
    pub fn record_webhook(&self, code: &'static str) {
        if let Ok(mut inner) = self.inner.lock() {
            *inner.webhook_outcomes.entry(code).or_default() += 1;
        }
    }

    /// Records one outbound delivery attempt by outcome (`delivered`, `duplicate_delivery`,
    /// `retryable_status`, `permanent_status`, `timeout`, `network_error`).
    pub fn record_delivery_attempt(&self, outcome: &'static str) {
        if let Ok(mut inner) = self.inner.lock() {
            *inner.delivery_attempts.entry(outcome).or_default() += 1;
        }
    }

    /// A circuit breaker changed state (`closed`, `open`, `half_open`).
    pub fn record_breaker_transition(&self, from: &str, to: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            *inner
                .breaker_transitions
                .entry((from.to_owned(), to.to_owned()))
                .or_default() += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, database_up: bool) -> String {
        let mut out = String::new();
        let Ok(inner) = self.inner.lock() else {
            return out;
        };
        let _ = writeln!(
            out,
            "# HELP fluxora_http_requests_total HTTP requests served."
        );
        let _ = writeln!(out, "# TYPE fluxora_http_requests_total counter");
        for ((method, route, status), count) in &inner.requests {
            let _ = writeln!(
                out,
                "fluxora_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(method),
                escape(route)
            );
        }
        let _ = writeln!(
            out,
            "# HELP fluxora_http_request_duration_seconds Time to answer HTTP requests."
        );
        let _ = writeln!(
            out,
            "# TYPE fluxora_http_request_duration_seconds histogram"
        );
        for (route, histogram) in &inner.durations {
            let route = escape(route);
            for (count, bound) in histogram.counts.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "fluxora_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "fluxora_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "fluxora_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "fluxora_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP fluxora_webhook_deliveries_total Inbound webhook deliveries by verification outcome."
        );
        let _ = writeln!(out, "# TYPE fluxora_webhook_deliveries_total counter");
        for (code, count) in &inner.webhook_outcomes {
            let _ = writeln!(
                out,
                "fluxora_webhook_deliveries_total{{outcome=\"{code}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP fluxora_webhook_delivery_attempts_total Outbound webhook delivery attempts by outcome."
        );
        let _ = writeln!(
            out,
            "# TYPE fluxora_webhook_delivery_attempts_total counter"
        );
        for (outcome, count) in &inner.delivery_attempts {
            let _ = writeln!(
                out,
                "fluxora_webhook_delivery_attempts_total{{outcome=\"{outcome}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP fluxora_webhook_circuit_breaker_transitions_total Consumer circuit breaker state changes made by this instance."
        );
        let _ = writeln!(
            out,
            "# TYPE fluxora_webhook_circuit_breaker_transitions_total counter"
        );
        for ((from, to), count) in &inner.breaker_transitions {
            let _ = writeln!(
                out,
                "fluxora_webhook_circuit_breaker_transitions_total{{from=\"{from}\",to=\"{to}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP fluxora_database_up Whether the database answered."
        );
        let _ = writeln!(out, "# TYPE fluxora_database_up gauge");
        let _ = writeln!(out, "fluxora_database_up {}", u8::from(database_up));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let metrics = Metrics::default();
        metrics.record_request("GET", "/health", 200, Duration::from_millis(3));
        metrics.record_webhook("ok");
        metrics.record_delivery_attempt("delivered");
        let text = metrics.render(true);
        assert!(text.contains("fluxora_webhook_delivery_attempts_total{outcome=\"delivered\"} 1"));
        assert!(text.contains(
            "fluxora_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1"
        ));
        assert!(text.contains(
            "fluxora_http_request_duration_seconds_bucket{route=\"/health\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "fluxora_http_request_duration_seconds_bucket{route=\"/health\",le=\"0.001\"} 0"
        ));
        assert!(text.contains("fluxora_webhook_deliveries_total{outcome=\"ok\"} 1"));
        assert!(text.contains("fluxora_database_up 1"));
    }
}
