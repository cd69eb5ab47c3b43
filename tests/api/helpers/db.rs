//! A fresh database per test, copied from a migrated template.
//!
//! The server is `TEST_DATABASE_URL` (any database on a server where this role may create
//! databases) or, when unset, the embedded cluster in the system temp directory, started by the
//! same launcher as the server (so created with the same `initdb` options, UTF-8 locale included)
//! and left running for the next test process. The template is
//! migrated once per build of the test binary (an advisory lock keeps concurrent test processes
//! from racing); each test copies it with `CREATE DATABASE … TEMPLATE`, and drops its copy when done.
//! Copies left behind by killed test processes are swept.

use std::{hash::Hasher, sync::OnceLock};

use confab::embedded_db::EmbeddedPostgres;
use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// The URL of the maintenance database (`postgres`) of the test server.
fn admin_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
            return with_database(&url, "postgres");
        }
        // The name carries the initdb options' generation: an existing cluster keeps the locale
        // it was created with, so a change of options needs a new directory (v2: UTF-8 locale).
        let dir =
            std::env::temp_dir().join(format!("confab-test-pg-v2-{}", nix::unistd::geteuid()));
        let cluster = EmbeddedPostgres::start_shared(&dir).unwrap_or_else(|e| {
            panic!(
                "cannot start the embedded PostgreSQL for the tests: {e}\n\
                 Install the PostgreSQL server binaries or set TEST_DATABASE_URL=postgres://…"
            )
        });
        cluster.url_for("postgres")
    })
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// A database for one test, dropped when this value is.
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl TestDatabase {
    /// Copies the migrated template into a new database.
    pub async fn create() -> Self {
        let admin = Database::connect(admin_url())
            .await
            .expect("connect to the test server");
        let template = ensure_template(&admin).await;
        let name = format!("t_{}_{}", std::process::id(), uuid::Uuid::now_v7().simple());
        admin
            .execute_unprepared(&format!(
                "CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY"
            ))
            .await
            .expect("create the test database");
        admin.close().await.ok();
        Self {
            url: with_database(admin_url(), &name),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime; the drop needs its own.
        let name = self.name.clone();
        let handle = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime
                .block_on(async {
                    let admin = Database::connect(admin_url()).await?;
                    // One drop at a time across test processes: two concurrent DROP DATABASE
                    // statements wait on each other's ProcSignalBarrier (seen: 60 s each, with
                    // `wait_event = ProcSignalBarrier` in pg_stat_activity). The lock is the
                    // session's, released when it closes.
                    admin
                        .execute_unprepared("SELECT pg_advisory_lock(727275)")
                        .await?;
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await?;
                    admin.close().await?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                })
                .map_err(|e| std::io::Error::other(e.to_string()))
        });
        if let Ok(Err(e)) = handle.join() {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// Creates the migrated template for this build if it does not exist yet; returns its name.
async fn ensure_template(admin: &DatabaseConnection) -> String {
    let name = template_name();
    admin
        .execute_unprepared("SELECT pg_advisory_lock(727274)")
        .await
        .expect("lock the template");
    // A test's runtime is blocked while its database is dropped (Drop joins a thread); a pool
    // connection that was half-way through authenticating then holds a backend in authentication,
    // which DROP DATABASE's ProcSignalBarrier waits for until `authentication_timeout` (60 s by
    // default; seen in the server log as "still waiting for backend … to accept
    // ProcSignalBarrier"). Loopback authentication takes milliseconds.
    // Best effort: a `TEST_DATABASE_URL` role may not be allowed to (it only makes drops slower).
    for sql in [
        "ALTER SYSTEM SET authentication_timeout = '2s'",
        "SELECT pg_reload_conf()",
    ] {
        let _ = admin.execute_unprepared(sql).await;
    }
    let exists = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
        ))
        .await
        .expect("look up the template")
        .is_some();
    if !exists {
        sweep(admin, &name).await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the template");
        let template = Database::connect(with_database(admin_url(), &name))
            .await
            .expect("connect to the template");
        migration::Migrator::up(&template, None)
            .await
            .expect("migrate the template");
        template.close().await.ok();
    }
    admin
        .execute_unprepared("SELECT pg_advisory_unlock(727274)")
        .await
        .expect("unlock the template");
    name
}

/// The prefix of this checkout's templates: checkouts of the repository sharing the test cluster
/// (git worktrees) sweep only their own templates, never one another's in use.
fn template_prefix() -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(env!("CARGO_MANIFEST_DIR").as_bytes());
    format!("confab_template_{:08x}_", hasher.finish() as u32)
}

/// The template's name changes with every build of the test binary, so schema edits during
/// development never meet a stale template.
fn template_name() -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    for migration in migration::Migrator::migrations() {
        hasher.write(migration.name().as_bytes());
    }
    if let Ok(modified) = std::env::current_exe().and_then(|p| p.metadata()?.modified()) {
        hasher.write(format!("{modified:?}").as_bytes());
    }
    format!("{}{:016x}", template_prefix(), hasher.finish())
}

/// Drops this checkout's older templates (and those of the naming before checkouts had a
/// prefix), and test databases whose test process is gone (killed mid-test).
async fn sweep(admin: &DatabaseConnection, keep: &str) {
    let rows = admin
        .query_all_raw(Statement::from_string(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'confab_template_%' OR datname LIKE 't\\_%'",
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        let stale = if let Some(rest) = name.strip_prefix("confab_template_") {
            let unprefixed = !rest.contains('_');
            name != keep && (unprefixed || name.starts_with(&template_prefix()))
        } else {
            let pid = name.split('_').nth(1).unwrap_or_default();
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
        };
        if stale {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://u:p@h:5/db", "x"),
        "postgres://u:p@h:5/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h:5", "x"),
        "postgres://u:p@h:5/x"
    );
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
}
