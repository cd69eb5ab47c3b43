//! `max`: the highest rate whose delivery p99 stays within a limit (issue 17 asks for 25 ms).

use serde_json::json;

use crate::{
    scenarios::{Context0, Options, World, print},
    setup::Setup,
};

/// Steps the rate up until delivery p99 passes `--p99` (100 ms by default) twice in a row.
pub(crate) async fn run(ctx: &Context0, setup: &Setup, options: &Options) -> anyhow::Result<bool> {
    let world = World::new(ctx, setup, options.num("pairs", 100)? as usize, None).await?;
    let duration = options.num("duration", 10)?;
    let limit_ms = options.num("p99", 100)? as f64;
    let mut best = None;
    let mut misses = 0;
    for rate in [
        500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 8000, 10000, 12000,
    ] {
        let report = world.deliver(ctx, rate, duration).await?;
        let p99 = report["delivery"]["p99_ms"].as_f64().unwrap_or(f64::MAX);
        let good = report["passed"].as_bool() == Some(true) && p99 <= limit_ms;
        print(&format!("max step {rate}/s"), report.clone());
        if good {
            best = Some(report);
            misses = 0;
        } else {
            // One bad step can be a checkpoint; two in a row is the limit.
            misses += 1;
            if misses == 2 {
                break;
            }
        }
    }
    let summary = json!({
        "p99_limit_ms": limit_ms,
        "highest_rate_within_limit": best.as_ref().map(|r| r["achieved_rate"].clone()),
        "at_that_rate": best,
    });
    Ok(print("max", summary))
}
