//! A loop device of the harness's own, for the IO probe: it throttles a device
//! that holds nothing of the user's.
//!
//! The device is backed by a memfd (RAM, no path on any filesystem) and set up
//! with `LOOP_CONFIGURE` and `LO_FLAGS_AUTOCLEAR`: the kernel detaches it when
//! the last descriptor closes. So it goes away on every exit path — drop, error,
//! panic, and a harness killed with SIGKILL (its workers are killed with their
//! cgroup) — and leaves no file behind.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::cgroup::{errno_of, DevId};

pub const LOOP_CONTROL: &str = "/dev/loop-control";
/// The name every harness memfd starts with; `/sys/block/loopN/loop/backing_file`
/// shows it as `/memfd:isobench-io-<pid> (deleted)`.
pub const BACKING_PREFIX: &str = "isobench-io-";
/// Logical block size of the device: O_DIRECT needs buffers, offsets and lengths
/// aligned to it.
pub const BLOCK_BYTES: u32 = 4096;

// From <linux/loop.h>; the libc crate lacks LOOP_CONFIGURE (Linux ≥ 5.8).
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_info64`.
#[repr(C)]
#[derive(Clone, Copy)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// `struct loop_config`.
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// Why no device could be made.
#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    #[error("{}: {errno}{}", path.display(), hint.map(|h| format!("; hint: {h}")).unwrap_or_default())]
    Sys {
        path: PathBuf,
        errno: Errno,
        hint: Option<&'static str>,
    },
}

fn sys(path: &Path, errno: Errno) -> LoopError {
    let hint = match errno {
        Errno::ENOENT => Some("loop devices need CONFIG_BLK_DEV_LOOP (modprobe loop)"),
        Errno::EACCES | Errno::EPERM => Some("run as root"),
        _ => None,
    };
    LoopError::Sys {
        path: path.to_path_buf(),
        errno,
        hint,
    }
}

/// An attached loop device; dropping it closes the last harness descriptor, and the
/// kernel detaches the device once the workers' descriptors are closed too.
#[derive(Debug)]
pub struct LoopDevice {
    file: File,
    path: PathBuf,
    index: u32,
    dev: DevId,
    size_bytes: u64,
}

impl LoopDevice {
    /// Attaches a free loop device to a fresh memfd of `size_bytes` (a multiple of
    /// [`BLOCK_BYTES`]).
    pub fn create(size_bytes: u64) -> Result<LoopDevice, LoopError> {
        let backing = memfd(size_bytes)?;
        let control = OpenOptions::new()
            .read(true)
            .write(true)
            .open(LOOP_CONTROL)
            .map_err(|e| sys(Path::new(LOOP_CONTROL), errno_of(&e)))?;
        // Another process may take the free device between GET_FREE and CONFIGURE.
        let mut last = Errno::EBUSY;
        for _ in 0..8 {
            // SAFETY: an ioctl without arguments on the control device.
            let n = unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE) };
            if n < 0 {
                return Err(sys(Path::new(LOOP_CONTROL), Errno::last()));
            }
            let index = n as u32;
            let path = PathBuf::from(format!("/dev/loop{index}"));
            let file = open_node(&path)?;
            let config = LoopConfig {
                fd: backing.as_raw_fd() as u32,
                block_size: BLOCK_BYTES,
                info: LoopInfo64 {
                    lo_flags: LO_FLAGS_AUTOCLEAR,
                    ..zeroed_info()
                },
                reserved: [0; 8],
            };
            // SAFETY: LOOP_CONFIGURE reads a `struct loop_config` we own.
            let r = unsafe { libc::ioctl(file.as_raw_fd(), LOOP_CONFIGURE, &config) };
            if r == 0 {
                let meta = file.metadata().map_err(|e| sys(&path, errno_of(&e)))?;
                let rdev = meta.rdev();
                return Ok(LoopDevice {
                    file,
                    path,
                    index,
                    dev: DevId {
                        major: libc::major(rdev),
                        minor: libc::minor(rdev),
                    },
                    size_bytes,
                });
            }
            last = Errno::last();
            if last != Errno::EBUSY {
                return Err(sys(&path, last));
            }
        }
        Err(sys(Path::new(LOOP_CONTROL), last))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn dev(&self) -> DevId {
        self.dev
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// `/sys/block/loopN`, whose `loop/` directory exists while the device is attached.
    pub fn sys_dir(&self) -> PathBuf {
        PathBuf::from(format!("/sys/block/loop{}", self.index))
    }

    /// Detaches now (rather than on the last close) and waits up to `timeout` for
    /// the kernel to report it gone; false if it is still attached (a worker still
    /// holds it open).
    pub fn detach(self, timeout: Duration) -> bool {
        let sys_dir = self.sys_dir();
        // SAFETY: an ioctl without arguments. With AUTOCLEAR set, CLR_FD on a device
        // that is still open elsewhere only marks it to go on the last close.
        unsafe { libc::ioctl(self.file.as_raw_fd(), LOOP_CLR_FD) };
        drop(self);
        is_detached(&sys_dir, timeout)
    }
}

/// Waits up to `timeout` until the loop device behind `sys_dir` has no backing file.
pub fn is_detached(sys_dir: &Path, timeout: Duration) -> bool {
    let start = Instant::now();
    loop {
        if !sys_dir.join("loop").exists() {
            return true;
        }
        if start.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Loop devices attached to a harness memfd: `(device, backing file)`.
pub fn harness_devices() -> Vec<(String, String)> {
    let Ok(dir) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    let mut found: Vec<(String, String)> = dir
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let backing = std::fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            backing
                .contains(BACKING_PREFIX)
                .then(|| (name, backing.trim().to_string()))
        })
        .collect();
    found.sort();
    found
}

fn zeroed_info() -> LoopInfo64 {
    LoopInfo64 {
        lo_device: 0,
        lo_inode: 0,
        lo_rdevice: 0,
        lo_offset: 0,
        lo_sizelimit: 0,
        lo_number: 0,
        lo_encrypt_type: 0,
        lo_encrypt_key_size: 0,
        lo_flags: 0,
        lo_file_name: [0; 64],
        lo_crypt_name: [0; 64],
        lo_encrypt_key: [0; 32],
        lo_init: [0; 2],
    }
}

/// A memfd of `size_bytes`: the device's backing store, in RAM and nameless.
fn memfd(size_bytes: u64) -> Result<OwnedFd, LoopError> {
    let name = std::ffi::CString::new(format!("{BACKING_PREFIX}{}", std::process::id()))
        .expect("no NUL in the name");
    let what = Path::new("memfd_create");
    // SAFETY: a valid C string; the fd is owned from here on.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(sys(what, Errno::last()));
    }
    // SAFETY: fd was just returned by memfd_create.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ftruncate on a descriptor we own.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), size_bytes as libc::off_t) } != 0 {
        return Err(sys(what, Errno::last()));
    }
    Ok(fd)
}

/// Opens `/dev/loopN`, waiting briefly for devtmpfs to create the node of a device
/// the control device has just made.
fn open_node(path: &Path) -> Result<File, LoopError> {
    let start = Instant::now();
    loop {
        match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
        {
            Ok(f) => {
                let is_block = f.metadata().is_ok_and(|m| m.file_type().is_block_device());
                if !is_block {
                    return Err(sys(path, Errno::ENOTBLK));
                }
                return Ok(f);
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && start.elapsed() < Duration::from_secs(2) =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(sys(path, errno_of(&e))),
        }
    }
}
