//! Latency samples and their percentiles.

use std::time::Duration;

/// Collected latencies.
#[derive(Default, Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The `q` quantile (0..=1) in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1].as_secs_f64() * 1000.0
    }

    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "count": self.len(),
            "p50_ms": round(self.quantile_ms(0.50)),
            "p95_ms": round(self.quantile_ms(0.95)),
            "p99_ms": round(self.quantile_ms(0.99)),
            "p999_ms": round(self.quantile_ms(0.999)),
            "max_ms": round(self.quantile_ms(1.0)),
        })
    }
}

pub fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
