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
//!   `pg_ctl status`: a running cluster is adopted once it accepts connections, a stale pid file is
//!   left to PostgreSQL, which detects it itself, and a postmaster killed too (a zombie for a moment)
//!   is waited out and the cluster started again (see `cluster.rs`).
//!
//! Files: `cluster.rs` creates, starts and adopts; `location.rs` decides where the cluster lives;
//! `process.rs` runs PostgreSQL's programs.

mod cluster;
mod location;
mod process;

use std::{
    fs::File,
    path::{Path, PathBuf},
};

use process::{RunAs, chown, find_bin_dir};

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
    /// `confab db stop` while a server uses the cluster.
    #[error(
        "a Confab server is using the embedded PostgreSQL under {0}; stop the server (it stops the \
         cluster when it exits), or pass --force to stop the cluster under it"
    )]
    InUseByServer(PathBuf),
    /// A cluster that runs but does not accept connections, and did not go away before the deadline.
    #[error(
        "the embedded PostgreSQL (postmaster pid {pid}, port {port}) neither accepts connections \
         nor exits; see {log}"
    )]
    NotAccepting {
        /// The postmaster's pid, from `postmaster.pid`.
        pid: i32,
        /// Its port.
        port: u16,
        /// The cluster's log.
        log: PathBuf,
    },
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

        pg.start_or_adopt(&root.join("postgres.log"))?;
        pg.ensure_database()?;
        drop(startup_lock);
        Ok(pg)
    }

    /// Stops the cluster under `data_dir` if one is running there; says whether it did.
    ///
    /// A server holds `DATA_DIR/confab.lock` while it runs: unless `force` is set, a cluster a
    /// server uses is left alone ([`EmbeddedDbError::InUseByServer`]). The lock is held while
    /// stopping, so no server starts on the cluster meanwhile.
    pub fn stop_if_running(data_dir: &Path, force: bool) -> Result<bool, EmbeddedDbError> {
        if Self::existing_cluster_dir(data_dir).is_none() {
            return Ok(false);
        }
        let _lock = if force {
            None
        } else {
            let lock = File::create(data_dir.join("confab.lock"))
                .map_err(io_err("opening the cluster lock file"))?;
            if lock.try_lock().is_err() {
                return Err(EmbeddedDbError::InUseByServer(data_dir.to_path_buf()));
            }
            Some(lock)
        };
        let pg = Self::locate(data_dir)?;
        if pg.running_postmaster().is_none() {
            return Ok(false);
        }
        pg.stop()?;
        Ok(true)
    }

    /// The directory of the cluster created earlier for `data_dir`, or `None` when there is none
    /// yet. Creates nothing: commands that need an existing database ask before starting one.
    pub fn existing_cluster_dir(data_dir: &Path) -> Option<PathBuf> {
        location::existing_root(data_dir)
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
        let root = location::cluster_root(data_dir, run_as.is_some())?;
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
}
