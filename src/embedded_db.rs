//! The embedded PostgreSQL cluster: Confab's zero-setup default when `DATABASE_URL` is unset.
//!
//! It runs the PostgreSQL server binaries already installed on the machine (found on `PATH` or under
//! `/usr/lib/postgresql/<version>/bin`) against a private cluster in `DATA_DIR/postgres`, listening only
//! on 127.0.0.1 with a generated password. The test harness uses the same launcher, so a fresh machine
//! needs nothing set up by hand.
//!
//! Two facts shape the code:
//! - `initdb` and `postgres` refuse to run as root, so as root the cluster belongs to the unprivileged
//!   `postgres` system user and every PostgreSQL binary runs under that uid.
//! - A server killed with SIGKILL leaves its cluster running (or a stale `postmaster.pid`). Start-up asks
//!   `pg_ctl status`: a running cluster is adopted, a stale pid file is left to PostgreSQL, which
//!   detects it itself.

use std::{
    fs::File,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use rand::RngCore;

/// Why the embedded cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedDbError {
    /// No `initdb`/`pg_ctl`/`postgres` on this machine.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or under \
         /usr/lib/postgresql/<version>/bin. Install them (Debian/Ubuntu: `apt-get install postgresql`, \
         Fedora: `dnf install postgresql-server`, macOS: `brew install postgresql`) or set DATABASE_URL \
         to an existing PostgreSQL server."
    )]
    BinariesNotFound,
    /// Running as root, but there is no unprivileged user to own the cluster.
    #[error(
        "running as root, and PostgreSQL refuses to run as root, but there is no `postgres` system user \
         to run it as. Create one (useradd --system postgres), run Confab as a normal user, or set \
         DATABASE_URL."
    )]
    NoUnprivilegedUser,
    /// The data directory cannot be reached by the user that runs PostgreSQL.
    #[error(
        "{0} is not reachable by the `postgres` user (a parent directory is not world-searchable). \
         Choose a DATA_DIR elsewhere (e.g. DATA_DIR=/var/lib/confab) or set DATABASE_URL."
    )]
    Unreachable(PathBuf),
    /// Another Confab server holds this `DATA_DIR`.
    #[error("another Confab process is using {0}; stop it or choose another DATA_DIR")]
    Locked(PathBuf),
    /// A PostgreSQL command failed; its output is included.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command that failed.
        command: String,
        /// What it printed.
        output: String,
    },
    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedDbError {
    let context = context.into();
    move |source| EmbeddedDbError::Io { context, source }
}

/// The user PostgreSQL runs as when we are root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

/// A running embedded cluster. Call [`EmbeddedPostgres::stop`] to shut it down.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    pg_data: PathBuf,
    run_as: Option<RunAs>,
    port: u16,
    password: String,
    /// Held while this process uses the cluster, so two servers never share one `DATA_DIR`.
    _lock: Option<File>,
}

/// The superuser and database of the embedded cluster.
const USER: &str = "confab";

impl EmbeddedPostgres {
    /// Creates (on first run) and starts the cluster under `data_dir/postgres`, holding an exclusive
    /// lock on it for the life of the returned value. A second server on the same `DATA_DIR` fails
    /// with a clear message instead of corrupting anything.
    pub fn start_exclusive(data_dir: &Path) -> Result<Self, EmbeddedDbError> {
        std::fs::create_dir_all(data_dir)
            .map_err(io_err(format!("creating {}", data_dir.display())))?;
        let lock = File::create(data_dir.join("confab.lock"))
            .map_err(io_err("creating the cluster lock file"))?;
        if lock.try_lock().is_err() {
            return Err(EmbeddedDbError::Locked(data_dir.to_path_buf()));
        }
        let mut pg = Self::start_shared(data_dir)?;
        pg._lock = Some(lock);
        Ok(pg)
    }

    /// Creates and starts the cluster, or adopts it when it is already running. Several processes
    /// may call this at once (test binaries do): a lock serialises start-up only, and the cluster is
    /// left running for the others.
    pub fn start_shared(data_dir: &Path) -> Result<Self, EmbeddedDbError> {
        let mut pg = Self::locate(data_dir)?;
        let root = pg.root();
        std::fs::create_dir_all(&root).map_err(io_err(format!("creating {}", root.display())))?;
        let startup_lock = File::create(root.join("startup.lock"))
            .map_err(io_err("creating the start-up lock file"))?;
        startup_lock
            .lock()
            .map_err(io_err("locking the cluster for start-up"))?;

        if let Some(run_as) = pg.run_as {
            chown(&root, run_as)?;
        }
        let password_file = root.join("password");
        if !pg.pg_data.join("PG_VERSION").exists() {
            pg.init(&password_file)?;
        }
        pg.password = std::fs::read_to_string(&password_file)
            .map_err(io_err("reading the embedded database password"))?
            .trim()
            .to_owned();

        if let Some(port) = pg.running_port() {
            tracing::info!(
                port,
                "adopting the embedded PostgreSQL cluster that is already running"
            );
            pg.port = port;
        } else {
            pg.port = free_port()?;
            let log = root.join("postgres.log");
            pg.pg_ctl(&[
                "start",
                "--wait",
                "--timeout=60",
                "-l",
                path_str(&log)?,
                "-o",
                &format!("-p {}", pg.port),
            ])?;
        }
        pg.ensure_database()?;
        drop(startup_lock);
        Ok(pg)
    }

    /// Stops the cluster under `data_dir` if one is running there; says whether it did.
    pub fn stop_if_running(data_dir: &Path) -> Result<bool, EmbeddedDbError> {
        let pg = Self::locate(data_dir)?;
        if pg.running_port().is_none() {
            return Ok(false);
        }
        pg.stop()?;
        Ok(true)
    }

    /// Finds the binaries and the user to run them as; starts nothing.
    fn locate(data_dir: &Path) -> Result<Self, EmbeddedDbError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedDbError::BinariesNotFound)?;
        let run_as = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name("postgres")
                .ok()
                .flatten()
                .ok_or(EmbeddedDbError::NoUnprivilegedUser)?;
            Some(RunAs {
                uid: user.uid.as_raw(),
                gid: user.gid.as_raw(),
            })
        } else {
            None
        };
        let root = cluster_root(data_dir, run_as.is_some())?;
        Ok(Self {
            bin_dir,
            pg_data: root.join("pgdata"),
            run_as,
            port: 0,
            password: String::new(),
            _lock: None,
        })
    }

    /// The directory holding the cluster, its log and password (normally `DATA_DIR/postgres`).
    pub fn cluster_dir(&self) -> PathBuf {
        self.root()
    }

    /// `DATA_DIR/postgres`: the cluster, its log, password and lock files.
    fn root(&self) -> PathBuf {
        self.pg_data
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.pg_data.clone())
    }

    /// The URL of the cluster's `confab` database.
    pub fn database_url(&self) -> String {
        self.url_for(USER)
    }

    /// The URL of another database in the same cluster.
    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// Stops the cluster (fast shutdown: open sessions are ended, nothing committed is lost).
    pub fn stop(self) -> Result<(), EmbeddedDbError> {
        self.pg_ctl(&["stop", "--wait", "--timeout=60", "-m", "fast"])?;
        Ok(())
    }

    fn init(&self, password_file: &Path) -> Result<(), EmbeddedDbError> {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_mode_600(password_file, &password)?;
        if let Some(run_as) = self.run_as {
            chown(password_file, run_as)?;
        }
        self.run(
            "initdb",
            &[
                "-D",
                path_str(&self.pg_data)?,
                "-U",
                USER,
                "--pwfile",
                path_str(password_file)?,
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ],
        )?;
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

    /// The port of a cluster left running by an earlier process, if there is one.
    fn running_port(&self) -> Option<u16> {
        let mut status = self.command("pg_ctl").ok()?;
        let output = self
            .spawn(status.args(["status", "-D"]).arg(&self.pg_data))
            .ok()?;
        if !output.status.success() {
            return None;
        }
        // postmaster.pid: line 4 is the port.
        let pid_file = std::fs::read_to_string(self.pg_data.join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    fn ensure_database(&self) -> Result<(), EmbeddedDbError> {
        let psql = self.command("psql")?;
        let mut check = psql;
        let out = self.spawn(
            check
                .env("PGPASSWORD", &self.password)
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
                .args(["-d", "postgres", "-tAc"])
                .arg(format!(
                    "SELECT 1 FROM pg_database WHERE datname = '{USER}'"
                )),
        )?;
        if !out.status.success() {
            return Err(command_error("psql", &out));
        }
        if String::from_utf8_lossy(&out.stdout).trim() != "1" {
            let mut create = self.command("psql")?;
            let out = self.spawn(
                create
                    .env("PGPASSWORD", &self.password)
                    .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
                    .args(["-d", "postgres", "-c"])
                    .arg(format!("CREATE DATABASE {USER}")),
            )?;
            if !out.status.success() {
                return Err(command_error("psql CREATE DATABASE", &out));
            }
        }
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output, EmbeddedDbError> {
        let mut all = vec!["-D", path_str(&self.pg_data)?];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all)
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<Output, EmbeddedDbError> {
        let mut command = self.command(program)?;
        let output = self.spawn(command.args(args))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(command_error(
                &format!("{program} {}", args.join(" ")),
                &output,
            ))
        }
    }

    fn command(&self, program: &str) -> Result<Command, EmbeddedDbError> {
        let path = self.bin_dir.join(program);
        let path = if path.exists() {
            path
        } else {
            // psql may live apart from the server binaries (e.g. /usr/bin).
            which(program).ok_or(EmbeddedDbError::BinariesNotFound)?
        };
        let mut command = Command::new(path);
        // Never let the caller's libpq settings point psql somewhere else.
        for var in ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE"] {
            command.env_remove(var);
        }
        if let Some(run_as) = self.run_as {
            command.uid(run_as.uid).gid(run_as.gid);
            // HOME stays root's otherwise, which the postgres user cannot read.
            command.env("HOME", "/tmp");
            command.current_dir("/");
        }
        Ok(command)
    }

    fn spawn(&self, command: &mut Command) -> Result<Output, EmbeddedDbError> {
        command
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(io_err("running a PostgreSQL binary"))
    }
}

fn command_error(command: &str, output: &Output) -> EmbeddedDbError {
    let mut text = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if text.is_empty() {
        text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    }
    EmbeddedDbError::Command {
        command: command.to_owned(),
        output: text,
    }
}

fn path_str(path: &Path) -> Result<&str, EmbeddedDbError> {
    path.to_str().ok_or_else(|| EmbeddedDbError::Io {
        context: format!("{} is not valid UTF-8", path.display()),
        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
    })
}

fn write_mode_600(path: &Path, contents: &str) -> Result<(), EmbeddedDbError> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(format!("writing {}", path.display())))?;
    file.write_all(contents.as_bytes())
        .map_err(io_err(format!("writing {}", path.display())))
}

fn chown(path: &Path, run_as: RunAs) -> Result<(), EmbeddedDbError> {
    std::os::unix::fs::chown(path, Some(run_as.uid), Some(run_as.gid)).map_err(io_err(format!(
        "giving {} to the postgres user",
        path.display()
    )))
}

/// Where the cluster lives: `DATA_DIR/postgres`, unless PostgreSQL must run as the `postgres` user
/// and cannot reach that path.
///
/// As root, `DATA_DIR` itself (Confab's own directory) is made searchable, never listable, by
/// others (mode `o+x`). If a directory above it is private (say `/root`), the cluster moves to
/// `/var/lib/confab/clusters/<hash of DATA_DIR>` rather than loosening permissions Confab does not
/// own; a warning says where.
fn cluster_root(data_dir: &Path, as_postgres_user: bool) -> Result<PathBuf, EmbeddedDbError> {
    std::fs::create_dir_all(data_dir)
        .map_err(io_err(format!("creating {}", data_dir.display())))?;
    let data_dir = std::fs::canonicalize(data_dir).map_err(io_err("resolving DATA_DIR"))?;
    let preferred = data_dir.join("postgres");
    if !as_postgres_user {
        return Ok(preferred);
    }
    let searchable =
        |dir: &Path| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0);
    if data_dir.ancestors().skip(1).all(searchable) {
        if !searchable(&data_dir) {
            let mode = std::fs::metadata(&data_dir)
                .map_err(io_err("reading DATA_DIR"))?
                .permissions()
                .mode();
            std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(mode | 0o001))
                .map_err(io_err("making DATA_DIR searchable for the postgres user"))?;
        }
        return Ok(preferred);
    }
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hasher::write(&mut hasher, data_dir.as_os_str().as_encoded_bytes());
    let fallback = PathBuf::from(format!(
        "/var/lib/confab/clusters/{:016x}",
        std::hash::Hasher::finish(&hasher)
    ));
    std::fs::create_dir_all(&fallback)
        .map_err(|_| EmbeddedDbError::Unreachable(preferred.clone()))?;
    if !fallback.ancestors().all(searchable) {
        return Err(EmbeddedDbError::Unreachable(preferred));
    }
    tracing::warn!(
        data_dir = %data_dir.display(),
        cluster = %fallback.display(),
        "DATA_DIR lies under a private directory the postgres user cannot reach; \
         the embedded cluster lives in the fallback directory instead"
    );
    Ok(fallback)
}

/// Finds the directory holding `initdb`, `pg_ctl` and `postgres`: `PATH` first, then the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian and Ubuntu keep them off `PATH`).
fn find_bin_dir() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).exists())
    };
    if let Some(initdb) = which("initdb") {
        // Follow symlinks (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb).
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(dir) = real.parent()
            && has_all(dir)
        {
            return Some(dir.to_path_buf());
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_all(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// A free loopback port, chosen afresh at each start (another cluster may have taken the last one).
fn free_port() -> Result<u16, EmbeddedDbError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(io_err("finding a free port for PostgreSQL"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("finding a free port for PostgreSQL"))?
        .port();
    Ok(port)
}
