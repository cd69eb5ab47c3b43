//! The cluster's life: creating it (`initdb`, with a locale that folds case for every script),
//! starting it or adopting one already running, and making sure the `confab` database exists.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use rand::RngCore;

use super::{
    EmbeddedDbError, EmbeddedPostgres, USER, io_err,
    process::{chown, command_error, free_port, path_str, write_mode_600},
};

/// How long a start keeps trying after a crash: the dead postmaster may linger as a zombie (~1 s),
/// and its orphaned backends may hold the shared memory a little longer.
const START_DEADLINE: Duration = Duration::from_secs(30);
/// Pause between attempts while waiting for a crashed cluster to go away.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

impl EmbeddedPostgres {
    /// Runs `initdb`, then restricts the cluster to loopback TCP.
    ///
    /// Locale: `--locale=C` folds case for ASCII only (`lower('É')` stays `É`, and `ILIKE` and
    /// full-text search miss accented and non-Latin words). So the cluster gets a UTF-8 locale: ICU's
    /// root locale (`und`) where PostgreSQL is built with ICU, else the machine's UTF-8 libc locale,
    /// and only when neither works, `C` (with a warning). Existing clusters keep theirs.
    pub(super) fn init(&self, password_file: &Path) -> Result<(), EmbeddedDbError> {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_mode_600(password_file, &password)?;
        if let Some(run_as) = self.run_as {
            chown(password_file, run_as)?;
        }
        let pg_data = path_str(&self.pg_data)?;
        let base = [
            "-D",
            pg_data,
            "-U",
            USER,
            "--pwfile",
            path_str(password_file)?,
            "--auth=scram-sha-256",
            "--encoding=UTF8",
        ];
        let mut last_error = None;
        for locale in locale_choices() {
            let args: Vec<&str> = base
                .iter()
                .copied()
                .chain(locale.iter().map(String::as_str))
                .collect();
            match self.run("initdb", &args) {
                Ok(_) => {
                    if locale.iter().any(|a| a == "--locale=C") {
                        tracing::warn!(
                            "no UTF-8 locale is usable on this machine: the embedded cluster uses \
                             the C locale, where lower(), ILIKE and search fold ASCII letters only"
                        );
                    }
                    last_error = None;
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, ?locale, "initdb failed with this locale; trying the next");
                    // initdb removes what it created on failure; make sure before retrying.
                    let _ = std::fs::remove_dir_all(&self.pg_data);
                    last_error = Some(e);
                }
            }
        }
        if let Some(e) = last_error {
            return Err(e);
        }
        // Local-only, no Unix socket (its path length is limited and other clusters may share /tmp).
        let settings = "\n# Confab embedded cluster\n\
            listen_addresses = '127.0.0.1'\n\
            unix_socket_directories = ''\n\
            max_connections = 200\n";
        let conf = self.pg_data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(io_err("reading postgresql.conf"))?;
        text.push_str(settings);
        std::fs::write(&conf, text).map_err(io_err("writing postgresql.conf"))?;
        Ok(())
    }

    /// Adopts the cluster when it runs and accepts connections, otherwise starts it; sets `port`.
    ///
    /// After `kill -9` of the postmaster, `pg_ctl status` keeps saying "running" while the dead
    /// process is a zombie (about a second), and its orphaned backends may still hold the shared
    /// memory: a start in that window fails. So a running cluster is adopted only once it accepts
    /// connections, and until the deadline every failure is followed by another look.
    pub(super) fn start_or_adopt(&mut self, log: &Path) -> Result<(), EmbeddedDbError> {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let error = match self.running_postmaster() {
                Some((pid, port)) if self.accepts_connections(port) => {
                    tracing::info!(
                        port,
                        postmaster.pid = pid,
                        "adopting the embedded PostgreSQL cluster that is already running"
                    );
                    self.port = port;
                    return Ok(());
                }
                Some((pid, port)) => EmbeddedDbError::NotAccepting {
                    pid,
                    port,
                    log: log.to_path_buf(),
                },
                None => {
                    let port = self.preferred_port()?;
                    let started = self.pg_ctl(&[
                        "start",
                        "--wait",
                        "--timeout=60",
                        "-l",
                        path_str(log)?,
                        "-o",
                        &format!("-p {port}"),
                    ]);
                    match started {
                        Ok(_) => {
                            self.port = port;
                            // Best effort: a different port next time only costs stability.
                            let _ = std::fs::write(self.port_file(), port.to_string());
                            return Ok(());
                        }
                        Err(e) => e,
                    }
                }
            };
            if Instant::now() + RETRY_PAUSE > deadline {
                return Err(error);
            }
            tracing::debug!(%error, "the embedded PostgreSQL is not usable yet; retrying");
            std::thread::sleep(RETRY_PAUSE);
        }
    }

    /// Where the port of the last start is kept (beside the data directory, not in it).
    fn port_file(&self) -> std::path::PathBuf {
        self.pg_data.with_file_name("port")
    }

    /// The port of the last start when it is free again, so a restarted cluster keeps its address
    /// (pools of a running server, a `psql` session, reconnect to it), else any free port.
    fn preferred_port(&self) -> Result<u16, EmbeddedDbError> {
        let last = std::fs::read_to_string(self.port_file())
            .ok()
            .and_then(|text| text.trim().parse::<u16>().ok())
            .filter(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok());
        match last {
            Some(port) => Ok(port),
            None => free_port(),
        }
    }

    /// The postmaster's pid and port when `pg_ctl status` says the cluster runs (a zombie counts
    /// as running there; [`Self::accepts_connections`] tells them apart).
    pub(super) fn running_postmaster(&self) -> Option<(i32, u16)> {
        let mut status = self.command("pg_ctl").ok()?;
        let output = self
            .spawn(status.args(["status", "-D"]).arg(&self.pg_data))
            .ok()?;
        if !output.status.success() {
            return None;
        }
        // postmaster.pid: line 1 is the pid, line 4 the port.
        let pid_file = std::fs::read_to_string(self.pg_data.join("postmaster.pid")).ok()?;
        let mut lines = pid_file.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        let port = lines.nth(2)?.trim().parse().ok()?;
        Some((pid, port))
    }

    /// Whether the server on `port` accepts connections (`pg_isready`; a TCP connect where that
    /// program is missing).
    fn accepts_connections(&self, port: u16) -> bool {
        let port_arg = port.to_string();
        match self.command("pg_isready") {
            Ok(mut command) => self
                .spawn(command.args(["-q", "-t", "3", "-h", "127.0.0.1", "-p", &port_arg]))
                .is_ok_and(|out| out.status.success()),
            Err(_) => std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_secs(3),
            )
            .is_ok(),
        }
    }

    /// Creates the `confab` database when it is missing.
    pub(super) fn ensure_database(&self) -> Result<(), EmbeddedDbError> {
        let port = self.port.to_string();
        let psql = |sql: String| -> Result<std::process::Output, EmbeddedDbError> {
            let mut command = self.command("psql")?;
            self.spawn(
                command
                    .env("PGPASSWORD", &self.password)
                    .args(["-h", "127.0.0.1", "-p", &port, "-U", USER])
                    .args(["-d", "postgres", "-tAc"])
                    .arg(sql),
            )
        };
        let out = psql(format!(
            "SELECT 1 FROM pg_database WHERE datname = '{USER}'"
        ))?;
        if !out.status.success() {
            return Err(command_error("psql", &out));
        }
        if String::from_utf8_lossy(&out.stdout).trim() != "1" {
            let out = psql(format!("CREATE DATABASE {USER}"))?;
            if !out.status.success() {
                return Err(command_error("psql CREATE DATABASE", &out));
            }
        }
        Ok(())
    }
}

/// `initdb` locale arguments, best first: ICU's root collation over a UTF-8 libc locale, the UTF-8
/// libc locale alone (PostgreSQL built without ICU), and `C` as the last resort.
fn locale_choices() -> Vec<Vec<String>> {
    let mut choices = Vec::new();
    if let Some(utf8) = utf8_locale() {
        choices.push(vec![
            format!("--locale={utf8}"),
            "--locale-provider=icu".to_owned(),
            "--icu-locale=und".to_owned(),
        ]);
        choices.push(vec![format!("--locale={utf8}")]);
    }
    choices.push(vec!["--locale=C".to_owned()]);
    choices
}

/// A UTF-8 locale installed on this machine (`locale -a`): `C.UTF-8` when present (no language
/// rules of its own), else `en_US.UTF-8`, else any. Without `locale`, `C.UTF-8` is tried blind.
fn utf8_locale() -> Option<String> {
    let Ok(output) = std::process::Command::new("locale").arg("-a").output() else {
        return Some("C.UTF-8".to_owned());
    };
    let listed = String::from_utf8_lossy(&output.stdout);
    let utf8: Vec<&str> = listed
        .lines()
        .map(str::trim)
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            lower.ends_with(".utf8") || lower.ends_with(".utf-8")
        })
        .collect();
    let preferred = |prefix: &str| {
        utf8.iter()
            .find(|l| l.to_ascii_lowercase().starts_with(prefix))
            .map(|l| (*l).to_owned())
    };
    preferred("c.")
        .or_else(|| preferred("en_us."))
        .or_else(|| utf8.first().map(|l| (*l).to_owned()))
}
