//! Loading eBPF programs: the `bpf(2)` syscall, the instruction encoding
//! (`struct bpf_insn`) and `BPF_PROG_LOAD` with the verifier's log on a
//! refusal. This module touches the kernel, like `cgroup`, `ns` and
//! `workload`: it is the one loader of the harness's two programs, the cgroup
//! device program (`cgroup::devbpf`) and the net_prio tap's socket filter
//! (`workload::net`), each of which builds its own instructions and attaches
//! the program its own way.
//!
//! Raw `bpf(2)` through `libc::syscall` rather than a crate: the programs are
//! a dozen instructions, and the BPF crates (aya, libbpf-rs, redbpf) bring an
//! ELF loader, maps, BTF or a C toolchain — thousands of lines for a few
//! syscalls, and libbpf-rs would need a compiler at build time.

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};

use nix::errno::Errno;

/// `bpf(2)` command BPF_PROG_LOAD (uapi/linux/bpf.h).
pub const BPF_PROG_LOAD: libc::c_long = 5;
/// `enum bpf_prog_type`.
pub const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;

// Opcodes (class | op | source), uapi/linux/bpf_common.h.
pub const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
pub const ALU64_MOV_X: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
pub const ALU64_MOV_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
pub const ALU64_AND_K: u8 = 0x57; // BPF_ALU64 | BPF_AND | BPF_K
pub const ALU64_RSH_K: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
pub const ALU64_ADD_K: u8 = 0x07; // BPF_ALU64 | BPF_ADD | BPF_K
pub const JMP_JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
pub const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
pub const JMP_JGT_K: u8 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
pub const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// One BPF instruction (`struct bpf_insn`): opcode, the destination and source
/// registers in one byte, a jump offset, an immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        // `__u8 dst_reg:4, src_reg:4`: bitfields are allocated from the low
        // bits on little-endian targets, from the high bits on big-endian ones.
        let regs = if cfg!(target_endian = "little") {
            (src << 4) | (dst & 0xf)
        } else {
            (dst << 4) | (src & 0xf)
        };
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }
    pub fn dst(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        }
    }
    pub fn src(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        }
    }
    /// `dst = *(u32 *)(src + off)`.
    pub const fn ldx_w(dst: u8, src: u8, off: i16) -> Insn {
        Insn::new(LDX_MEM_W, dst, src, off, 0)
    }
    pub const fn mov_x(dst: u8, src: u8) -> Insn {
        Insn::new(ALU64_MOV_X, dst, src, 0, 0)
    }
    pub const fn mov_k(dst: u8, imm: i32) -> Insn {
        Insn::new(ALU64_MOV_K, dst, 0, 0, imm)
    }
    pub const fn and_k(dst: u8, imm: i32) -> Insn {
        Insn::new(ALU64_AND_K, dst, 0, 0, imm)
    }
    pub const fn rsh_k(dst: u8, imm: i32) -> Insn {
        Insn::new(ALU64_RSH_K, dst, 0, 0, imm)
    }
    pub const fn add_k(dst: u8, imm: i32) -> Insn {
        Insn::new(ALU64_ADD_K, dst, 0, 0, imm)
    }
    /// A conditional jump (`code`: `JMP_J*_K`) of `off` instructions past the
    /// next when `dst` compares so with `imm`.
    pub const fn jump(code: u8, dst: u8, off: i16, imm: i32) -> Insn {
        Insn::new(code, dst, 0, off, imm)
    }
    pub const fn exit() -> Insn {
        Insn::new(JMP_EXIT, 0, 0, 0, 0)
    }
}

/// Calls `bpf(cmd, attr, sizeof attr)`.
pub fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> Result<i64, Errno> {
    // SAFETY: `attr` is a live, initialised #[repr(C)] prefix of `union
    // bpf_attr` of the size passed; the kernel zero-fills the rest.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

/// `union bpf_attr` for BPF_PROG_LOAD, up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// A program the kernel refused to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The errno of the first load.
    pub errno: Errno,
    /// The verifier's log of the load repeated with one, lines joined by ` | `
    /// (empty when it wrote none).
    pub log: String,
}

/// Loads `insns` as a program of `prog_type` (GPL), named `name` (at most 15
/// bytes are kept: how `bpftool` and the harness's own checks find it). On a
/// refusal the load is repeated with the verifier's log, which the error
/// carries.
pub fn load(
    prog_type: u32,
    expected_attach_type: u32,
    name: &str,
    insns: &[Insn],
) -> Result<OwnedFd, Refused> {
    let license = CString::new("GPL").expect("no NUL");
    let mut prog_name = [0u8; 16];
    let n = name.len().min(15);
    prog_name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let attr = |log: &mut Vec<u8>| ProgLoadAttr {
        prog_type,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        prog_name,
        expected_attach_type,
        ..Default::default()
    };
    let mut no_log = Vec::new();
    let errno = match bpf(BPF_PROG_LOAD, &mut attr(&mut no_log)) {
        // SAFETY: a new fd the kernel just returned, owned by nobody else.
        Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => e,
    };
    // Again with a log: it says which instruction the verifier refused and why.
    let mut log = vec![0u8; 1 << 16];
    let again = bpf(BPF_PROG_LOAD, &mut attr(&mut log));
    if let Ok(fd) = again {
        // SAFETY: as above (a transient refusal that passed the second time).
        return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
    }
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    let text: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Err(Refused {
        errno,
        log: text.join(" | "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insn_has_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        let i = Insn::ldx_w(2, 1, 4);
        assert_eq!((i.dst(), i.src(), i.off), (2, 1, 4));
        #[cfg(target_endian = "little")]
        assert_eq!(i.regs, 0x12);
    }
}
