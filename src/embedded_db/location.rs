//! Where a cluster lives on disk, and whether one exists there already.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use super::{EmbeddedDbError, io_err};

/// Where the cluster lives: `DATA_DIR/postgres`, unless PostgreSQL must run as the `postgres` user
/// and cannot reach that path.
///
/// As root, `DATA_DIR` itself (Confab's own directory) is made searchable, never listable, by
/// others (mode `o+x`). If a directory above it is private (say `/root`), the cluster moves to
/// `/var/lib/confab/clusters/<hash of DATA_DIR>` rather than loosening permissions Confab does not
/// own; a warning says where.
pub(super) fn cluster_root(
    data_dir: &Path,
    as_postgres_user: bool,
) -> Result<PathBuf, EmbeddedDbError> {
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
    let fallback = fallback_root(&data_dir);
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

/// The directory of a cluster created earlier for `data_dir`, if there is one. Creates nothing:
/// commands that only use a database ask this before starting one.
pub(super) fn existing_root(data_dir: &Path) -> Option<PathBuf> {
    let data_dir = std::fs::canonicalize(data_dir).ok()?;
    [data_dir.join("postgres"), fallback_root(&data_dir)]
        .into_iter()
        .find(|root| root.join("pgdata").join("PG_VERSION").exists())
}

/// `/var/lib/confab/clusters/<hash of the resolved DATA_DIR>`.
fn fallback_root(data_dir: &Path) -> PathBuf {
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hasher::write(&mut hasher, data_dir.as_os_str().as_encoded_bytes());
    PathBuf::from(format!(
        "/var/lib/confab/clusters/{:016x}",
        std::hash::Hasher::finish(&hasher)
    ))
}
