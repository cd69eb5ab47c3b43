//! The scenarios and their reports.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::{
    engineio,
    proc_stats::{self, CpuMeter},
    setup::{BenchUser, Setup},
    stats::{Samples, round},
};

/// A message not delivered within this long counts as lost.
const LOSS_DEADLINE: Duration = Duration::from_secs(5);

pub(crate) struct Options {
    url: String,
    pub(crate) scenario: String,
    values: BTreeMap<String, String>,
}

impl Options {
    fn parse(args: Vec<String>) -> anyhow::Result<Self> {
        let mut url = "http://127.0.0.1:7200".to_owned();
        let mut scenario = None;
        let mut values = BTreeMap::new();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let value = it
                    .next()
                    .with_context(|| format!("--{name} needs a value"))?;
                if name == "url" {
                    url = value;
                } else {
                    values.insert(name.to_owned(), value);
                }
            } else if scenario.is_none() {
                scenario = Some(arg);
            } else {
                bail!("unexpected argument {arg}");
            }
        }
        Ok(Self {
            url,
            scenario: scenario.context("no scenario given")?,
            values,
        })
    }

    pub(crate) fn num(&self, name: &str, default: u64) -> anyhow::Result<u64> {
        match self.values.get(name) {
            Some(v) => v
                .parse()
                .with_context(|| format!("--{name} must be a number")),
            None => Ok(default),
        }
    }
}

pub(crate) struct Context0 {
    pub(crate) url: String,
    /// Where receivers connect: `--receiver-url`, another instance sharing the database and Redis
    /// (senders on one instance, receivers on the other); `url` when not given.
    pub(crate) receiver_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) server_pid: Option<u32>,
    /// Whether receivers acknowledge `new_message` (`--ack 1`, the default; `--ack 0` measures
    /// the send path without delivery receipts).
    pub(crate) acknowledge: bool,
}

/// Runs the scenario named in `args`; `Ok(false)` when it completed but failed its check.
pub async fn run(args: Vec<String>) -> anyhow::Result<bool> {
    let options = Options::parse(args)?;
    let ctx = Context0 {
        url: options.url.trim_end_matches('/').to_owned(),
        receiver_url: options
            .values
            .get("receiver-url")
            .unwrap_or(&options.url)
            .trim_end_matches('/')
            .to_owned(),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            .build()?,
        server_pid: match options.values.get("server-pid") {
            Some(pid) => Some(pid.parse().context("--server-pid must be a number")?),
            None => proc_stats::find_server_pid(),
        },
        acknowledge: options.num("ack", 1)? != 0,
    };
    let status = ctx.http.get(format!("{}/status", ctx.url)).send().await;
    if !status.is_ok_and(|r| r.status().is_success()) {
        bail!("no Confab answers at {}", ctx.url);
    }
    let setup = Setup::new().await?;
    match options.scenario.as_str() {
        "deliver" => {
            let pairs = options.num("pairs", 100)? as usize;
            let receivers = match options.values.get("receivers") {
                Some(_) => Some(options.num("receivers", 0)? as usize),
                None => None,
            };
            let world = World::new(&ctx, &setup, pairs, receivers).await?;
            let report = world
                .deliver(
                    &ctx,
                    options.num("rate", 1000)?,
                    options.num("duration", 10)?,
                )
                .await?;
            Ok(print("deliver", report))
        }
        "smoke" => {
            let world = World::new(&ctx, &setup, 5, None).await?;
            let report = world.deliver(&ctx, 50, 3).await?;
            Ok(print("smoke", report))
        }
        "max" => crate::max::run(&ctx, &setup, &options).await,
        "idle" => {
            let connections = options.num("connections", 1000)? as usize;
            crate::idle::run(&ctx, &setup, connections, options.num("hold", 0)?).await
        }
        "restart" => {
            let connections = options.num("connections", 1000)? as usize;
            crate::restart::run(&ctx, &setup, connections, options.num("wait", 60)?).await
        }
        "history" | "search" | "conversations" => crate::reads::run(&ctx, &setup, &options).await,
        "replay" => crate::replay::run(&ctx, &setup, &options).await,
        other => bail!("unknown scenario {other}"),
    }
}

/// Prints the table and the JSON line; returns whether the run passed its checks.
pub(crate) fn print(name: &str, report: Value) -> bool {
    eprintln!("── {name} ──");
    if let Value::Object(fields) = &report {
        for (key, value) in fields {
            eprintln!("  {key:<22} {value}");
        }
    }
    let passed = report["passed"].as_bool().unwrap_or(true);
    println!("{}", json!({ "scenario": name, "report": report }));
    passed
}

/// Length of the windows the stall report is kept in.
const WINDOW_US: u64 = 100_000;

/// A window whose slowest delivery took longer than this is reported as a stall.
const STALL: Duration = Duration::from_millis(50);

/// Pairs of users with a conversation each and the receivers' sockets connected.
pub(crate) struct World {
    /// (sender, receiver, conversation) for each conversation.
    pairs: Vec<(BenchUser, BenchUser, uuid::Uuid)>,
    /// How many receivers (sockets) the conversations share.
    receivers: usize,
    deliveries: Arc<Mutex<Samples>>,
    /// From each send's start to the receiver's `message_delivered` listing it (contract §6.3:
    /// the time to mark a message delivered, as its participants learn it).
    marked: Arc<Mutex<Samples>>,
    /// The slowest delivery of each 100 ms window of send starts (µs since `base` / WINDOW_US).
    windows: Arc<Mutex<BTreeMap<u64, Duration>>>,
    delivered: Arc<AtomicU64>,
    base: Instant,
    /// `base` on the wall clock, to line stalls up with the database's log.
    base_wall: chrono::DateTime<chrono::Utc>,
}

impl World {
    /// `pairs` conversations, each with its own sender; the receivers are `receivers` users
    /// shared round-robin (one per conversation when `None`), each with one socket.
    pub(crate) async fn new(
        ctx: &Context0,
        setup: &Setup,
        pairs: usize,
        receivers: Option<usize>,
    ) -> anyhow::Result<Self> {
        let senders = setup.users(pairs, "deliver_s").await?;
        let receivers = setup
            .users(receivers.unwrap_or(pairs).clamp(1, pairs), "deliver_r")
            .await?;
        let mut out = vec![];
        for (i, sender) in senders.into_iter().enumerate() {
            let receiver = receivers[i % receivers.len()].clone();
            let created: Value = ctx
                .http
                .post(format!("{}/conversations/{}", ctx.url, receiver.id))
                .bearer_auth(&sender.token)
                .send()
                .await?
                .json()
                .await?;
            let id = created["id"].as_str().context("conversation id")?.parse()?;
            out.push((sender, receiver, id));
        }
        let world = Self {
            pairs: out,
            receivers: receivers.len(),
            deliveries: Arc::new(Mutex::new(Samples::default())),
            marked: Arc::new(Mutex::new(Samples::default())),
            windows: Arc::new(Mutex::new(BTreeMap::new())),
            delivered: Arc::new(AtomicU64::new(0)),
            base: Instant::now(),
            base_wall: chrono::Utc::now(),
        };
        for receiver in &receivers {
            let ws = engineio::connect(&ctx.receiver_url, &receiver.token).await?;
            let (deliveries, marked, windows, delivered, base, acknowledge) = (
                world.deliveries.clone(),
                world.marked.clone(),
                world.windows.clone(),
                world.delivered.clone(),
                world.base,
                ctx.acknowledge,
            );
            tokio::spawn(async move {
                // (send start, latency, whether it is the delivered mark rather than the message)
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Duration, bool)>();
                tokio::spawn(async move {
                    while let Some((sent, latency, mark)) = rx.recv().await {
                        if mark {
                            marked.lock().await.push(latency);
                            continue;
                        }
                        deliveries.lock().await.push(latency);
                        let mut windows = windows.lock().await;
                        let slowest = windows.entry(sent / WINDOW_US).or_default();
                        *slowest = (*slowest).max(latency);
                    }
                });
                let mut sent_at = std::collections::HashMap::<String, u64>::new();
                engineio::read_events(ws, acknowledge, |name, args| {
                    if name == "message_delivered" {
                        let ids = args.first().and_then(|d| d["messageIds"].as_array());
                        for id in ids.into_iter().flatten().filter_map(Value::as_str) {
                            if let Some(sent) = sent_at.remove(id) {
                                let latency =
                                    base.elapsed().saturating_sub(Duration::from_micros(sent));
                                let _ = tx.send((sent, latency, true));
                            }
                        }
                        return;
                    }
                    if name != "new_message" {
                        return;
                    }
                    // The content carries the send start, in µs since `base`.
                    let sent = args
                        .first()
                        .and_then(|m| m["content"].as_str())
                        .and_then(|c| c.strip_prefix("b:"))
                        .and_then(|us| us.parse::<u64>().ok());
                    if let Some(sent) = sent {
                        if let Some(id) = args.first().and_then(|m| m["id"].as_str()) {
                            sent_at.insert(id.to_owned(), sent);
                        }
                        let latency = base.elapsed().saturating_sub(Duration::from_micros(sent));
                        if latency <= LOSS_DEADLINE {
                            delivered.fetch_add(1, Ordering::Relaxed);
                        }
                        let _ = tx.send((sent, latency, false));
                    }
                })
                .await;
            });
        }
        Ok(world)
    }

    /// Open loop: a send is started every 1/rate s whatever the server's pace.
    pub(crate) async fn deliver(
        &self,
        ctx: &Context0,
        rate: u64,
        duration: u64,
    ) -> anyhow::Result<Value> {
        *self.deliveries.lock().await = Samples::default();
        *self.marked.lock().await = Samples::default();
        self.windows.lock().await.clear();
        self.delivered.store(0, Ordering::Relaxed);
        let total = rate * duration;
        let http_latency = Arc::new(Mutex::new(Samples::default()));
        let statuses = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
        let server_cpu = ctx.server_pid.map(CpuMeter::start);
        let own_cpu = CpuMeter::start(std::process::id());
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(total as usize);
        for i in 0..total {
            let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
            tokio::time::sleep_until(due.into()).await;
            let (sender, _, conversation) = &self.pairs[i as usize % self.pairs.len()];
            let request = ctx
                .http
                .post(format!("{}/conversations/{conversation}/messages", ctx.url))
                .bearer_auth(&sender.token);
            let (http_latency, statuses, base) =
                (http_latency.clone(), statuses.clone(), self.base);
            tasks.push(tokio::spawn(async move {
                let at = Instant::now();
                let content = format!("b:{}", base.elapsed().as_micros());
                let result = request.json(&json!({ "content": content })).send().await;
                // The body is read as a client would: an unread body closes the connection, and
                // the next send would pay for a new one.
                let key = match result {
                    Ok(r) => {
                        let status = r.status().as_u16().to_string();
                        match r.bytes().await {
                            Ok(_) => status,
                            Err(_) => "io-error".into(),
                        }
                    }
                    Err(e) if e.is_connect() => "connect-error".into(),
                    Err(_) => "io-error".into(),
                };
                let elapsed = at.elapsed();
                http_latency.lock().await.push(elapsed);
                *statuses.lock().await.entry(key).or_default() += 1;
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
        let sending = started.elapsed();
        let server_cpu = server_cpu.map(|m| m.percent());
        let own_cpu = own_cpu.percent();
        let ok = statuses.lock().await.get("201").copied().unwrap_or(0);
        let wait_until = Instant::now() + LOSS_DEADLINE;
        while self.delivered.load(Ordering::Relaxed) < ok && Instant::now() < wait_until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Marks trail deliveries by the receipts' gathering time.
        while ctx.acknowledge
            && (self.marked.lock().await.len() as u64) < ok
            && Instant::now() < wait_until
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let delivered = self.delivered.load(Ordering::Relaxed);
        let statuses = statuses.lock().await.clone();
        let errors: u64 = statuses
            .iter()
            .filter(|(k, _)| *k != "201")
            .map(|(_, v)| v)
            .sum();
        let deliveries = self.deliveries.lock().await.clone();
        let stalls: Vec<Value> = self
            .windows
            .lock()
            .await
            .iter()
            .filter(|(_, slowest)| **slowest > STALL)
            .map(|(window, slowest)| {
                let at = self.base_wall + Duration::from_micros(window * WINDOW_US);
                json!({ "at": at.format("%H:%M:%S%.3f").to_string(), "max_ms": round(slowest.as_secs_f64() * 1e3) })
            })
            .collect();
        Ok(json!({
            "conversations": self.pairs.len(),
            "receivers": self.receivers,
            "offered_rate": rate,
            "achieved_rate": round(ok as f64 / sending.as_secs_f64()),
            "duration_s": round(sending.as_secs_f64()),
            "sent_ok": ok,
            "errors": errors,
            "statuses": statuses,
            "lost": ok.saturating_sub(delivered),
            "http": http_latency.lock().await.summary(),
            "delivery": deliveries.summary(),
            "marked_delivered": self.marked.lock().await.summary(),
            "stalls": stalls,
            "server_cpu_pct": server_cpu.map(round),
            "bench_cpu_pct": round(own_cpu),
            "server_rss_kib": ctx.server_pid.and_then(proc_stats::rss_kib),
            "passed": errors == 0 && ok == delivered,
        }))
    }
}
