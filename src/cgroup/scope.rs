//! [`Scope`]: creates the harness's cgroups under its own cgroup in each
//! hierarchy and guarantees their removal — on success, error, panic (`Drop`)
//! and, through the ownership record, after the harness was killed.
//!
//! The library never prints: what cleanup could not remove is returned by
//! [`Scope::close`], or, for a scope that was only dropped, kept for
//! [`take_cleanup_problems`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use nix::errno::Errno;
use serde::Serialize;

use super::handle::{Cgroup, Dir};
use super::hugetlb::{self, PageSize, Pool, HUGEPAGES_DIR};
use super::layout::{Layout, Standing};
use super::{
    owner, read_procs, v1, v2, validate_name, write_file, CgroupError, Controller, Version,
    NAME_PREFIX,
};

/// How a scope chooses where to create cgroups.
#[derive(Debug, Clone, Default)]
pub struct ScopeOptions {
    /// Where to create cgroups instead of the harness's own cgroup, in every
    /// hierarchy: an absolute cgroup path (as in /proc/self/cgroup, e.g.
    /// `/isobench.slice`) from each hierarchy's root, or a relative one resolved
    /// under the own cgroup (useful where the own cgroup differs per hierarchy).
    pub parent: Option<String>,
    /// Recorded in the ownership record.
    pub run_id: String,
}

/// The parent directory in one hierarchy and what it serves.
#[derive(Debug, Clone)]
struct Parent {
    version: Version,
    path: PathBuf,
    mount_point: PathBuf,
    /// Only the kernel's root is exempt from the no-internal-process rule.
    standing: Standing,
    serves: Vec<Controller>,
}

/// Where the harness moved itself on v2 so it could enable controllers.
#[derive(Debug)]
struct Leaf {
    parent: PathBuf,
    leaf: PathBuf,
    enabled: Vec<String>,
}

/// The owner of every cgroup the harness creates in one run.
#[derive(Debug)]
pub struct Scope {
    prefix: String,
    parents: Vec<Parent>,
    live: Vec<Cgroup>,
    /// Taken by the first cleanup, so a `close` followed by `Drop` (or a second
    /// cleanup after a failed one) never deletes a record that is still needed.
    record: Option<PathBuf>,
    leaf: Option<Leaf>,
    /// Controllers this scope enabled in a hierarchy's root (the own cgroup is
    /// the root: a guest, or a hybrid host's cgroup2 mount offering hugetlb),
    /// given back at the end so the host is left as found.
    root_enabled: Option<(PathBuf, Vec<String>)>,
    /// Huge page pools this scope changed: each size and its page count before.
    pools: Vec<(PageSize, u64)>,
    /// Where the pools are ([`HUGEPAGES_DIR`]; a fixture tree in tests).
    pool_root: PathBuf,
}

/// One step of a scope's cleanup that failed. What it left behind stays named in
/// the ownership record, so a later run or `isobench clean` removes it.
#[derive(Debug, thiserror::Error)]
#[error("cleanup: {0} (left for `isobench clean`)")]
pub struct CleanupProblem(pub CgroupError);

/// Cleanup problems of scopes that were dropped rather than closed (an early
/// return with `?`, a panic). `Drop` has no way to hand anything to its caller
/// and the library does not print, so they wait here, process-wide, until the
/// program takes them with [`take_cleanup_problems`].
static DROPPED_PROBLEMS: Mutex<Vec<CleanupProblem>> = Mutex::new(Vec::new());

/// Takes the cleanup problems recorded by every [`Scope`] dropped without
/// [`Scope::close`] since the last call, oldest first. A program that shows
/// cleanup problems calls this once its scopes are gone, on every exit path.
pub fn take_cleanup_problems() -> Vec<CleanupProblem> {
    // A poisoned lock only means a panic elsewhere while it was held; the list
    // itself is still whole.
    std::mem::take(
        &mut *DROPPED_PROBLEMS
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    )
}

/// The parents in each usable hierarchy, and which controllers each serves.
fn parents(layout: &Layout, parent: Option<&str>) -> Result<Vec<Parent>, CgroupError> {
    let placements = layout.placements();
    let mut out = Vec::new();
    for (i, h) in layout.hierarchies.iter().enumerate() {
        let serves: Vec<Controller> = placements
            .iter()
            .filter(|p| p.hierarchy == Some(i))
            .map(|p| p.controller)
            .collect();
        // The cgroup2 tree is always used: on a hybrid host it mirrors the cgroup for
        // cgroup.kill and populated; named v1 hierarchies (name=systemd) never are.
        if serves.is_empty() && h.version == Version::V1 {
            continue;
        }
        // Nothing can be made there; what it serves is absent from the
        // layout's placements, so the probes skip and say why.
        if !h.usable() {
            continue;
        }
        let path = match parent {
            Some(p) => {
                // Absolute: from the hierarchy's root; relative: under the own cgroup.
                let path = match (p.starts_with('/'), &h.own_dir) {
                    (true, _) => h.mount_point.join(p.trim_start_matches('/')),
                    (false, Some(own)) => own.join(p),
                    (false, None) => continue,
                };
                if !path.is_dir() {
                    return Err(CgroupError::NoParent { path });
                }
                path
            }
            None => match &h.own_dir {
                Some(d) => d.clone(),
                None => continue,
            },
        };
        let standing = if path == h.mount_point {
            h.standing
        } else {
            Standing::Child
        };
        out.push(Parent {
            version: h.version,
            path,
            mount_point: h.mount_point.clone(),
            standing,
            serves,
        });
    }
    Ok(out)
}

/// The parents a scope would use, refused at once (before anything is
/// written) when one of them is not writable by this process.
fn preflight(layout: &Layout, parent: Option<&str>) -> Result<Vec<Parent>, CgroupError> {
    let parents = parents(layout, parent)?;
    for p in &parents {
        if nix::unistd::access(&p.path, nix::unistd::AccessFlags::W_OK).is_err() {
            return Err(CgroupError::NotWritable {
                path: p.path.clone(),
                uid: nix::unistd::geteuid().as_raw(),
            });
        }
    }
    Ok(parents)
}

/// Whether a scope can be made here, checked without writing anything: what
/// a run asks before it spends time on the host's fingerprint.
pub fn check_parents(layout: &Layout, parent: Option<&str>) -> Result<(), CgroupError> {
    preflight(layout, parent).map(drop)
}

impl Scope {
    /// Prepares to create cgroups: writes the ownership record and, on v2, makes
    /// the needed controllers available to children (moving the harness into a
    /// leaf first when its own cgroup is not the root: the no-internal-process rule).
    pub fn new(layout: &Layout, opts: &ScopeOptions) -> Result<Scope, CgroupError> {
        let parents = preflight(layout, opts.parent.as_deref())?;
        let paths: Vec<PathBuf> = parents.iter().map(|p| p.path.clone()).collect();
        // Nothing to own without a parent (a read-only or not writable cgroup
        // file system): no record, which a user without root could not write.
        let record = if paths.is_empty() {
            None
        } else {
            Some(owner::write(&opts.run_id, &paths)?)
        };
        let mut scope = Scope {
            prefix: format!("{NAME_PREFIX}{}", std::process::id()),
            parents,
            live: Vec::new(),
            record,
            leaf: None,
            root_enabled: None,
            pools: Vec::new(),
            pool_root: PathBuf::from(HUGEPAGES_DIR),
        };
        // On error the Drop of `scope` removes the record and any leaf.
        scope.prepare_v2()?;
        Ok(scope)
    }

    fn prepare_v2(&mut self) -> Result<(), CgroupError> {
        let Some(p) = self
            .parents
            .iter()
            .find(|p| p.version == Version::V2)
            .cloned()
        else {
            return Ok(());
        };
        let available = super::read_file(&p.path.join(v2::CGROUP_CONTROLLERS))?;
        let enabled = v2::subtree_control(&p.path)?;
        let missing: Vec<&str> = p
            .serves
            .iter()
            .filter_map(|c| c.v2_name())
            .filter(|n| available.split_whitespace().any(|a| a == *n))
            .filter(|n| !enabled.iter().any(|e| e == n))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        // The kernel's root cgroup is exempt from the no-internal-process rule;
        // a cgroup-namespace root (a container's) is not. Elsewhere the harness
        // must be the parent's only process, and then steps into a leaf.
        let me = std::process::id() as i32;
        let procs = read_procs(&p.path)?;
        let others: Vec<i32> = procs.iter().copied().filter(|&q| q != me).collect();
        let exempt = p.standing == Standing::KernelRoot;
        if !exempt && !others.is_empty() {
            return Err(CgroupError::BusyParent {
                path: p.path.clone(),
                pids: others,
                namespace_root: p.standing == Standing::NamespaceRoot,
            });
        }
        if !exempt && !procs.is_empty() {
            let leaf = p.path.join(format!("{}-leaf", self.prefix));
            mkdir(&leaf)?;
            self.leaf = Some(Leaf {
                parent: p.path.clone(),
                leaf: leaf.clone(),
                enabled: Vec::new(),
            });
            write_file(&leaf.join(super::CGROUP_PROCS), "0")?;
        }
        for name in missing {
            if self.leaf.is_none() {
                // Named in the record before it is enabled: a harness killed
                // after the write still has it given back by `isobench clean`
                // (disabling one that is not enabled is a no-op).
                if let Some(record) = &self.record {
                    owner::update(record, |r| {
                        r.root_enabled.push((p.path.clone(), name.to_string()))
                    })?;
                }
            }
            v2::enable_controllers(&p.path, &[name])?;
            match &mut self.leaf {
                Some(l) => l.enabled.push(name.to_string()),
                None => self
                    .root_enabled
                    .get_or_insert_with(|| (p.path.clone(), Vec::new()))
                    .1
                    .push(name.to_string()),
            }
        }
        Ok(())
    }

    /// Creates `isobench-<pid>-<case>` in every hierarchy. On v1 cpuset the parent's
    /// cpus and mems are copied down so tasks can be attached. On failure nothing is
    /// left half-created. A directory of that name that already exists is an error
    /// ([`CgroupError::Exists`]), never taken over.
    pub fn create(&mut self, case: &str) -> Result<Cgroup, CgroupError> {
        validate_name(case)?;
        let mut cg = Cgroup {
            name: format!("{}-{case}", self.prefix),
            dirs: Vec::new(),
        };
        for p in &self.parents {
            let path = p.path.join(&cg.name);
            // Only a directory this mkdir made joins the cgroup: everything in
            // `dirs` gets its processes killed and is removed, by the rollback
            // below or by the scope's cleanup.
            let made = mkdir(&path).and_then(|()| {
                cg.dirs.push(Dir {
                    version: p.version,
                    path: path.clone(),
                    serves: p.serves.clone(),
                });
                if p.version == Version::V1 && p.serves.contains(&Controller::Cpuset) {
                    v1::copy_cpuset_down(&p.path, &path)?;
                }
                Ok(())
            });
            if let Err(e) = made {
                // What the rollback cannot remove stays the scope's, so its
                // cleanup tries again and reports it.
                if remove_cgroup(&cg).is_err() {
                    self.live.push(cg);
                }
                return Err(e);
            }
        }
        self.live.push(cg.clone());
        Ok(cg)
    }

    /// The interface files a fresh cgroup of this scope has, over every
    /// hierarchy, sorted and without repeats: what the kernel offers here. The
    /// cgroup is removed at once; a kernel that refuses it gives an empty list
    /// (the run itself will then say why).
    pub fn interface_files(&mut self) -> Vec<String> {
        let Ok(cg) = self.create("interface-files") else {
            return Vec::new();
        };
        let mut files: Vec<String> = cg
            .dirs
            .iter()
            .filter_map(|d| std::fs::read_dir(&d.path).ok())
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        files.dedup();
        let _ = self.remove(&cg);
        files
    }

    /// Kills what is left in `cg` and removes its directories.
    pub fn remove(&mut self, cg: &Cgroup) -> Result<(), CgroupError> {
        remove_cgroup(cg)?;
        self.live.retain(|c| c.name != cg.name);
        Ok(())
    }

    /// Removes an empty cgroup's directories with rmdir alone (no kill, no wait):
    /// what `cgroup_ops` times. Fails with EBUSY if a task is left in it.
    pub fn remove_empty(&mut self, cg: &Cgroup) -> Result<(), CgroupError> {
        for d in &cg.dirs {
            std::fs::remove_dir(&d.path).map_err(|e| CgroupError::Rmdir {
                path: d.path.clone(),
                errno: super::errno_of(&e),
            })?;
        }
        self.live.retain(|c| c.name != cg.name);
        Ok(())
    }

    /// Asks the kernel for `nr` pages in the huge page pool of `size`, for a
    /// case; returns the pool as the kernel left it (it may give fewer pages
    /// than asked). The page count before the scope's first change is written
    /// to the ownership record *before* the pool is touched, so the pool is set
    /// back by [`Scope::restore_hugepage_pool`], the scope's cleanup, or — when
    /// the harness was killed — the next run or `isobench clean`.
    pub fn set_hugepage_pool(&mut self, size: PageSize, nr: u64) -> Result<Pool, CgroupError> {
        if !self.pools.iter().any(|(s, _)| *s == size) {
            let old = hugetlb::pool(&self.pool_root, size)?.nr;
            if let Some(record) = &self.record {
                let file = size.pool_dir(&self.pool_root).join(hugetlb::NR_HUGEPAGES);
                owner::update(record, |r| r.pools.push(owner::PoolChange { file, old }))?;
            }
            self.pools.push((size, old));
        }
        hugetlb::set_pool(&self.pool_root, size, nr)?;
        hugetlb::pool(&self.pool_root, size)
    }

    /// Sets the pool of `size` back to its page count before this scope changed
    /// it (nothing to do if it did not). Pages still in use when it shrinks are
    /// freed by the kernel once released.
    pub fn restore_hugepage_pool(&mut self, size: PageSize) -> Result<(), CgroupError> {
        let Some(i) = self.pools.iter().position(|(s, _)| *s == size) else {
            return Ok(());
        };
        let old = self.pools[i].1;
        hugetlb::set_pool(&self.pool_root, size, old)?;
        self.pools.remove(i);
        if let Some(record) = &self.record {
            let file = size.pool_dir(&self.pool_root).join(hugetlb::NR_HUGEPAGES);
            owner::update(record, |r| r.pools.retain(|p| p.file != file))?;
        }
        Ok(())
    }

    /// What the cgroup manager took away since the scope enabled it: the
    /// controllers no longer in the subtree_control where this scope turned
    /// them on (systemd re-realising a unit it was not asked to delegate:
    /// `daemon-reload`, `set-property`), as one sentence; `None` when all is
    /// still there. A case measured without them judged a kernel it did not
    /// test.
    pub fn taken_away(&self) -> Option<String> {
        let mut gone = Vec::new();
        let enabled = self
            .leaf
            .iter()
            .map(|l| (&l.parent, &l.enabled))
            .chain(self.root_enabled.iter().map(|(p, e)| (p, e)));
        for (dir, names) in enabled {
            let now = v2::subtree_control(dir).unwrap_or_default();
            for n in names.iter().filter(|n| !now.contains(n)) {
                gone.push(format!("{n} in {}", dir.display()));
            }
        }
        (!gone.is_empty()).then(|| {
            format!(
                "removed by the cgroup manager during the case: {} no longer enabled (the case ran without it)",
                gone.join(", ")
            )
        })
    }

    /// Cgroups created and not yet removed.
    pub fn live(&self) -> &[Cgroup] {
        &self.live
    }

    /// Removes every cgroup still live, gives back what the scope changed on v2
    /// and, when all of that worked, deletes the ownership record. Returns what
    /// could not be done, for the caller to show; empty when nothing is left.
    #[must_use = "cleanup problems are reported only through the returned list"]
    pub fn close(mut self) -> Vec<CleanupProblem> {
        // The Drop that follows finds nothing left to do.
        self.cleanup()
    }

    /// Best effort: a failure is recorded and the next step still runs. Takes
    /// what it cleans, so a second call does nothing.
    fn cleanup(&mut self) -> Vec<CleanupProblem> {
        let mut problems = Vec::new();
        for cg in std::mem::take(&mut self.live).iter().rev() {
            if let Err(e) = remove_cgroup(cg) {
                problems.push(CleanupProblem(e));
            }
        }
        if let Some(l) = self.leaf.take() {
            // Give back what we enabled, step out of the leaf, remove it. If another
            // child of the parent now uses a controller this fails: leave it then.
            let names: Vec<&str> = l.enabled.iter().map(String::as_str).collect();
            let back = v2::disable_controllers(&l.parent, &names)
                .and_then(|()| write_file(&l.parent.join(super::CGROUP_PROCS), "0"))
                .and_then(|()| rmdir_retry(&l.leaf));
            if let Err(e) = back {
                problems.push(CleanupProblem(e));
            }
        }
        // After the cgroups: their killed workers have released their pages.
        for (size, _) in self.pools.clone() {
            if let Err(e) = self.restore_hugepage_pool(size) {
                problems.push(CleanupProblem(e));
            }
        }
        if let Some((root, enabled)) = self.root_enabled.take() {
            let names: Vec<&str> = enabled.iter().map(String::as_str).collect();
            match v2::disable_controllers(&root, &names) {
                // Another program's cgroup enabled it below meanwhile: theirs now.
                Err(e) if e.errno() == Some(nix::errno::Errno::EBUSY) => {}
                Err(e) => problems.push(CleanupProblem(e)),
                Ok(()) => {}
            }
        }
        // With anything left behind the record stays: it is how a later run tells
        // that this run's leftovers are safe to remove.
        if let Some(record) = self.record.take() {
            if problems.is_empty() {
                owner::remove(&record);
            }
        }
        problems
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let problems = self.cleanup();
        if !problems.is_empty() {
            DROPPED_PROBLEMS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(problems);
        }
    }
}

/// mkdir that claims the directory for this run. EEXIST is
/// [`CgroupError::Exists`]: a directory this run did not make may hold another
/// program's processes, so it is not the scope's to kill or remove.
fn mkdir(path: &Path) -> Result<(), CgroupError> {
    std::fs::create_dir(path).map_err(|e| match super::errno_of(&e) {
        Errno::EEXIST => CgroupError::Exists {
            path: path.to_path_buf(),
        },
        errno => CgroupError::Mkdir {
            path: path.to_path_buf(),
            errno,
        },
    })
}

/// rmdir, retrying EBUSY for up to a second: tasks that were just killed may
/// still be running their exit path.
fn rmdir_retry(path: &Path) -> Result<(), CgroupError> {
    let mut tries = 0;
    loop {
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 200 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                return Err(CgroupError::Rmdir {
                    path: path.to_path_buf(),
                    errno: super::errno_of(&e),
                })
            }
        }
    }
}

/// Removes a directory tree of cgroups, deepest first.
fn remove_tree(path: &Path) -> Result<(), CgroupError> {
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path())?;
            }
        }
    }
    rmdir_retry(path)
}

/// Kill, wait for empty, remove every directory.
fn remove_cgroup(cg: &Cgroup) -> Result<(), CgroupError> {
    let live: Vec<Dir> = cg
        .dirs
        .iter()
        .filter(|d| d.path.is_dir())
        .cloned()
        .collect();
    if live.is_empty() {
        return Ok(());
    }
    let cg = Cgroup {
        name: cg.name.clone(),
        dirs: live,
    };
    cg.kill_all()?;
    for d in &cg.dirs {
        remove_tree(&d.path)?;
    }
    Ok(())
}

/// What `isobench clean` did.
#[derive(Debug, Default, Serialize)]
pub struct CleanReport {
    /// Directories removed (owners gone).
    pub removed: Vec<PathBuf>,
    /// Directories left alone because their owner is running.
    pub live: Vec<PathBuf>,
    /// Directories that could not be removed, with the reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Huge page pools set back for runs that were killed (`nr_hugepages` file, value written).
    pub restored: Vec<(PathBuf, u64)>,
    /// Controllers given back in a hierarchy root's subtree_control for runs that were killed.
    pub given_back: Vec<(PathBuf, String)>,
}

/// The owner pid in a harness cgroup name (`isobench-<pid>-...`).
pub fn owner_of(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let (pid, case) = rest.split_once('-')?;
    if case.is_empty() {
        return None;
    }
    pid.parse().ok()
}

/// Removes leftovers of harness runs whose owner is gone, found under this
/// process's cgroups (or `parent`) and under every parent named in an ownership
/// record; cgroups of a live run are never touched.
pub fn clean_stale(layout: &Layout, parent: Option<&str>) -> Result<CleanReport, CgroupError> {
    let records = owner::read_all();
    let mine = parents(layout, parent)?;
    let mut report = CleanReport::default();
    // name → its directories across hierarchies, so the whole cgroup is killed at once.
    let mut groups: BTreeMap<String, Vec<Dir>> = BTreeMap::new();
    let mut scanned: Vec<PathBuf> = Vec::new();
    let recorded = records.iter().flat_map(|(_, r)| r.parents.iter().cloned());
    for dir in mine.iter().map(|p| p.path.clone()).chain(recorded) {
        if scanned.contains(&dir) {
            continue;
        }
        scanned.push(dir.clone());
        // The directory serves what the hierarchy it lies in serves.
        let hier = mine
            .iter()
            .filter(|p| dir.starts_with(&p.mount_point))
            .max_by_key(|p| p.mount_point.as_os_str().len());
        let Some(hier) = hier else { continue };
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if owner_of(&name).is_none() || !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            groups.entry(name).or_default().push(Dir {
                version: hier.version,
                path: e.path(),
                serves: hier.serves.clone(),
            });
        }
    }
    for (name, dirs) in groups {
        let pid = owner_of(&name).unwrap_or(0);
        if owner::owner_alive(pid, &records) {
            report.live.extend(dirs.into_iter().map(|d| d.path));
            continue;
        }
        let cg = Cgroup { name, dirs };
        match remove_cgroup(&cg) {
            Ok(()) => report.removed.extend(cg.dirs.into_iter().map(|d| d.path)),
            // A directory gone meanwhile was removed all the same: systemd trims
            // a dead run's scope once its last worker is killed.
            Err(e) => {
                for d in cg.dirs {
                    if d.path.exists() {
                        report.failed.push((d.path, e.to_string()));
                    } else {
                        report.removed.push(d.path);
                    }
                }
            }
        }
    }
    // What a dead run changed outside its cgroups, after they are gone (their
    // workers held the pages). A controller stays enabled while any harness
    // cgroup is alive: giving it back would take it from that run.
    let any_live = !report.live.is_empty()
        || records
            .iter()
            .any(|(_, r)| owner::owner_alive(r.owner_pid, &records));
    for (path, rec) in &records {
        if owner::owner_alive(rec.owner_pid, &records) {
            continue;
        }
        let mut failed = false;
        for p in &rec.pools {
            // A record is a file in a root-owned directory, but never a reason
            // to write anything but a pool size.
            if !hugetlb::is_pool_file(&p.file) {
                report.failed.push((
                    p.file.clone(),
                    format!("not a huge page pool file, recorded in {}", path.display()),
                ));
                failed = true;
                continue;
            }
            match write_file(&p.file, &p.old.to_string()) {
                Ok(()) => report.restored.push((p.file.clone(), p.old)),
                Err(e) => {
                    report.failed.push((p.file.clone(), e.to_string()));
                    failed = true;
                }
            }
        }
        if !any_live {
            for (root, name) in &rec.root_enabled {
                match v2::disable_controllers(root, &[name.as_str()]) {
                    Ok(()) => report.given_back.push((root.clone(), name.clone())),
                    // Another program's cgroup enabled it below meanwhile: theirs now.
                    Err(e) if e.errno() == Some(Errno::EBUSY) => {}
                    Err(e) => {
                        report.failed.push((root.clone(), e.to_string()));
                        failed = true;
                    }
                }
            }
        } else if !rec.root_enabled.is_empty() {
            // Kept for a later clean, when no run is alive.
            continue;
        }
        if !failed && report.failed.is_empty() {
            owner::remove(path);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_from_names() {
        assert_eq!(owner_of("isobench-123-cpu"), Some(123));
        assert_eq!(owner_of("isobench-123-leaf"), Some(123));
        assert_eq!(owner_of("isobench-123-"), None);
        assert_eq!(owner_of("isobench-x-cpu"), None);
        assert_eq!(owner_of("other-123-cpu"), None);
    }

    /// A scope over plain directories, built by hand so the bookkeeping is tested
    /// without root or a cgroup file system. Tests close what they build: a scope
    /// dropped with problems would add to the process-wide list that
    /// `cleanup_problems_are_returned_or_kept_for_the_caller` checks.
    fn plain_scope(record: &Path, parents: Vec<Parent>, live: Vec<Cgroup>) -> Scope {
        Scope {
            prefix: "isobench-1".into(),
            parents,
            live,
            record: Some(record.to_path_buf()),
            leaf: None,
            root_enabled: None,
            pools: Vec::new(),
            pool_root: PathBuf::from(HUGEPAGES_DIR),
        }
    }

    #[test]
    fn a_controller_the_manager_took_back_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().to_path_buf();
        std::fs::write(parent.join("cgroup.subtree_control"), "cpu memory pids\n").unwrap();
        let record = tmp.path().join("rec.json");
        let mut scope = plain_scope(&record, Vec::new(), Vec::new());
        scope.leaf = Some(Leaf {
            parent: parent.clone(),
            leaf: parent.join("isobench-1-leaf"),
            enabled: vec!["cpu".into(), "memory".into()],
        });
        assert_eq!(scope.taken_away(), None);
        // systemd re-realised the unit: memory is gone.
        std::fs::write(parent.join("cgroup.subtree_control"), "cpu pids\n").unwrap();
        let why = scope.taken_away().unwrap();
        assert!(
            why.starts_with("removed by the cgroup manager during the case: memory in "),
            "{why}"
        );
        assert!(!why.contains("cpu in"), "{why}");
        // The test's fixture is no cgroup: nothing to give back at drop.
        scope.leaf = None;
    }

    #[test]
    fn cleanup_problems_are_returned_or_kept_for_the_caller() {
        let tmp = tempfile::tempdir().unwrap();
        // Not a cgroup: it has no cgroup.procs, so emptying it fails.
        let dir = tmp.path().join("isobench-1-x");
        std::fs::create_dir(&dir).unwrap();
        let cg = Cgroup {
            name: "isobench-1-x".into(),
            dirs: vec![Dir {
                version: Version::V1,
                path: dir.clone(),
                serves: Vec::new(),
            }],
        };
        let record = tmp.path().join("1-0.json");
        std::fs::write(&record, "{}").unwrap();

        let problems = plain_scope(&record, Vec::new(), vec![cg.clone()]).close();
        assert_eq!(problems.len(), 1, "{problems:?}");
        let msg = problems[0].to_string();
        assert!(msg.starts_with("cleanup: read "), "{msg}");
        assert!(msg.contains(&*dir.to_string_lossy()), "{msg}");
        assert!(msg.ends_with("(left for `isobench clean`)"), "{msg}");
        // The record is what lets a later run remove the leftover: it stays.
        assert!(record.exists());
        // The Drop after close found nothing more to do.
        assert!(take_cleanup_problems().is_empty());

        drop(plain_scope(&record, Vec::new(), vec![cg]));
        let kept = take_cleanup_problems();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(kept[0].to_string(), msg);
        assert!(take_cleanup_problems().is_empty());

        // Nothing left behind: no problems, and the record goes.
        assert!(plain_scope(&record, Vec::new(), Vec::new())
            .close()
            .is_empty());
        assert!(!record.exists());
    }

    fn plain_parent(path: &Path) -> Parent {
        Parent {
            version: Version::V2,
            path: path.to_path_buf(),
            mount_point: path.to_path_buf(),
            standing: Standing::KernelRoot,
            serves: Vec::new(),
        }
    }

    #[test]
    fn an_existing_directory_is_an_error_not_adopted() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        // Someone else's cgroup with the name the scope is about to use, in the
        // second hierarchy only.
        let theirs = b.join("isobench-1-x");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::write(theirs.join("cgroup.procs"), "4242\n").unwrap();
        let record = tmp.path().join("1-0.json");
        std::fs::write(&record, "{}").unwrap();
        let mut scope = plain_scope(
            &record,
            vec![plain_parent(&a), plain_parent(&b)],
            Vec::new(),
        );

        let err = scope.create("x").unwrap_err();
        assert!(
            matches!(&err, CgroupError::Exists { path } if *path == theirs),
            "{err:?}"
        );
        assert_eq!(err.errno(), Some(Errno::EEXIST));
        let msg = err.to_string();
        assert!(msg.contains(&*theirs.to_string_lossy()), "{msg}");
        assert!(msg.contains("hint: "), "{msg}");

        // Only the directory this create made is the scope's: a plain directory
        // cannot be emptied like a cgroup, so the rollback failed and it waits
        // for the scope's cleanup. Theirs is not in it.
        let left: Vec<&Path> = scope
            .live()
            .iter()
            .flat_map(|c| c.dirs.iter().map(|d| d.path.as_path()))
            .collect();
        assert_eq!(left, [a.join("isobench-1-x").as_path()]);
        let problems = scope.close();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(!problems[0].to_string().contains(&*theirs.to_string_lossy()));
        assert_eq!(
            std::fs::read_to_string(theirs.join("cgroup.procs")).unwrap(),
            "4242\n"
        );
    }

    #[test]
    fn a_grown_pool_is_recorded_first_and_set_back_at_close() {
        let tmp = tempfile::tempdir().unwrap();
        let size = PageSize { kib: 2048 };
        let pool_dir = size.pool_dir(tmp.path());
        std::fs::create_dir(&pool_dir).unwrap();
        std::fs::write(pool_dir.join(hugetlb::NR_HUGEPAGES), "2\n").unwrap();
        std::fs::write(pool_dir.join(hugetlb::FREE_HUGEPAGES), "2\n").unwrap();
        let record = tmp.path().join("1-0.json");
        std::fs::write(
            &record,
            r#"{"run_id":"r","owner_pid":1,"owner_start_ticks":2,"parents":[]}"#,
        )
        .unwrap();
        let recorded = || -> Vec<owner::PoolChange> {
            let r: owner::OwnerRecord =
                serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
            r.pools
        };
        let mut scope = plain_scope(&record, Vec::new(), Vec::new());
        scope.pool_root = tmp.path().to_path_buf();
        // Single digits: a fixture file, unlike sysfs, is not truncated by a write.
        assert_eq!(scope.set_hugepage_pool(size, 9).unwrap().nr, 9);
        // A second change keeps the first old value: that is what is restored.
        scope.set_hugepage_pool(size, 8).unwrap();
        let rec = recorded();
        assert_eq!(rec.len(), 1, "{rec:?}");
        assert_eq!(rec[0].old, 2);
        assert_eq!(rec[0].file, pool_dir.join(hugetlb::NR_HUGEPAGES));
        // Set back by the case...
        scope.restore_hugepage_pool(size).unwrap();
        assert_eq!(hugetlb::pool(tmp.path(), size).unwrap().nr, 2);
        assert!(recorded().is_empty());
        // ...or, when the case did not, by the scope's cleanup.
        scope.set_hugepage_pool(size, 7).unwrap();
        assert!(scope.close().is_empty());
        assert_eq!(hugetlb::pool(tmp.path(), size).unwrap().nr, 2);
        assert!(!record.exists());
    }

    #[test]
    fn mkdir_names_an_existing_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let err = mkdir(tmp.path()).unwrap_err();
        assert!(matches!(err, CgroupError::Exists { .. }), "{err:?}");
        let err = mkdir(&tmp.path().join("no/such")).unwrap_err();
        assert!(
            matches!(
                err,
                CgroupError::Mkdir {
                    errno: Errno::ENOENT,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
