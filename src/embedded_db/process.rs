//! Running PostgreSQL's programs: as the `postgres` user when we are root, with the caller's libpq
//! settings removed, output captured, and failures turned into errors that carry that output.

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use super::{EmbeddedDbError, EmbeddedPostgres, io_err};

/// The user PostgreSQL runs as when we are root.
#[derive(Debug, Clone, Copy)]
pub(super) struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

impl EmbeddedPostgres {
    pub(super) fn pg_ctl(&self, args: &[&str]) -> Result<Output, EmbeddedDbError> {
        let mut all = vec!["-D", path_str(&self.pg_data)?];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all)
    }

    pub(super) fn run(&self, program: &str, args: &[&str]) -> Result<Output, EmbeddedDbError> {
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

    pub(super) fn command(&self, program: &str) -> Result<Command, EmbeddedDbError> {
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

    pub(super) fn spawn(&self, command: &mut Command) -> Result<Output, EmbeddedDbError> {
        command
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(io_err("running a PostgreSQL binary"))
    }
}

pub(super) fn command_error(command: &str, output: &Output) -> EmbeddedDbError {
    let mut text = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if text.is_empty() {
        text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    }
    EmbeddedDbError::Command {
        command: command.to_owned(),
        output: text,
    }
}

pub(super) fn path_str(path: &Path) -> Result<&str, EmbeddedDbError> {
    path.to_str().ok_or_else(|| EmbeddedDbError::Io {
        context: format!("{} is not valid UTF-8", path.display()),
        source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
    })
}

pub(super) fn write_mode_600(path: &Path, contents: &str) -> Result<(), EmbeddedDbError> {
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

pub(super) fn chown(path: &Path, run_as: RunAs) -> Result<(), EmbeddedDbError> {
    std::os::unix::fs::chown(path, Some(run_as.uid), Some(run_as.gid)).map_err(io_err(format!(
        "giving {} to the postgres user",
        path.display()
    )))
}

/// Finds the directory holding `initdb`, `pg_ctl` and `postgres`: `PATH` first, then the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian and Ubuntu keep them off `PATH`).
pub(super) fn find_bin_dir() -> Option<PathBuf> {
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

pub(super) fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// A free loopback port, chosen afresh at each start (another cluster may have taken the last one).
pub(super) fn free_port() -> Result<u16, EmbeddedDbError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(io_err("finding a free port for PostgreSQL"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("finding a free port for PostgreSQL"))?
        .port();
    Ok(port)
}
