//! Files: writing a result file so that no reader sees half of it.

use std::path::Path;

/// Writes `bytes` to `path` through a uniquely named temporary file in the same
/// folder, renamed over it, so a reader (or a second writer) never sees half a
/// file; the temporary file is removed on error. No fsync: the folder is rewritten
/// after every case, and a crash loses at most the case that was running.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    // NamedTempFile is 0600; results are for everyone to read.
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.persist(path).map(|_| ()).map_err(|e| e.error)
}
