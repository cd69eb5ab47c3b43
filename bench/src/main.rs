//! `confab-bench`: a load generator for a running Confab, on loopback.
//!
//! It reads the same configuration as the server (so the same `DATA_DIR`/`DATABASE_URL` and
//! secrets), creates users and sessions through Confab's own session code, and drives the server
//! over real HTTP and WebSocket (a small Engine.IO v4 client over tokio-tungstenite).
//!
//! Scenarios: `deliver` (open-loop sends, delivery latency), `max` (steps the rate up until delivery
//! p99 passes 100 ms), `idle` (held connections, server memory each), `history`, `search` and
//! `conversations` (page reads, full-text search and the conversation list over seeded tables). Each run prints a table and
//! one JSON line, with the server's and the generator's own CPU, so a figure never measures the
//! generator.

mod engineio;
mod idle;
mod max;
mod proc_stats;
mod reads;
mod replay;
mod restart;
mod scenarios;
mod setup;
mod stats;

use std::process::ExitCode;

const USAGE: &str =
    "usage: confab-bench [--url URL] [--receiver-url URL] [--server-pid PID] [--ack 0|1] SCENARIO [options]

  --receiver-url URL   receivers connect there (another instance sharing PostgreSQL and Redis),
                       senders send to --url: delivery across instances
  --ack 0|1            receivers acknowledge new_message (delivery receipts; default 1)

scenarios:
  deliver  --pairs P --rate R --duration D   open-loop sends at R msg/s for D s across P pairs
           [--receivers N]                   P conversations, each with its own sender, whose
                                             receivers are N users shared round-robin
  max      --pairs P --duration D [--p99 MS] step the rate up until delivery p99 > MS (100)
  idle     --connections N [--hold S]        hold N authenticated websocket connections (and
                                             report the server's CPU over S idle seconds)
  history  --requests N --concurrency C      newest-50 page reads of a 100,000-message conversation
  search   --requests N --concurrency C      full-text searches over 1,000,000 messages (10 % CJK)
  conversations --requests N --concurrency C the conversation list (100 conversations x 1,000
                                             messages; last message and unread count each)
  replay   --missed M --rounds R --requests N  reconnect with a cursor M events back (R times), and
                                             N /sync pages of 100, over a 10,000,000-row event store
  restart  --connections N [--wait S]        hold N sockets through a server restart (done outside)
                                             and report how long until every one reconnected
  smoke                                      a few seconds of deliver at a small rate

The server must run with the same configuration (DATA_DIR or DATABASE_URL, secrets).";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match scenarios::run(args).await {
        Ok(passed) => {
            if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
