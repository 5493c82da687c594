//! Device rules on cgroup v2: a `BPF_PROG_TYPE_CGROUP_DEVICE` program, built
//! here from BPF instructions, loaded with `bpf(BPF_PROG_LOAD)` and attached to
//! a cgroup2 directory with `BPF_PROG_ATTACH` (`BPF_CGROUP_DEVICE`) — what runc
//! and crun do, since v2 has no devices.allow. The kernel runs the program on
//! every device open and mknod by a task of the cgroup (or of a descendant)
//! with `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
//! `access_type = access << 16 | type`; it returns 1 to allow, 0 to refuse
//! (EPERM). `devcgroup_check_permission` runs it before the v1 check, so on a
//! hybrid host a program on the cgroup2 mirror is enforced too.
//!
//! The instructions are built here; [`crate::bpf`] encodes and loads them
//! (raw `bpf(2)`, no BPF crate: see there why).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;

use super::devices::{normal_form, DevAccess, DevKind, DeviceRule};
use super::CgroupError;
/// What [`program`] builds and [`load`] takes.
pub use crate::bpf::Insn;
use crate::bpf::{self, bpf, JMP_JEQ_K, JMP_JNE_K};

/// `bpf(2)` commands used here besides BPF_PROG_LOAD (uapi/linux/bpf.h).
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_GET_NEXT_ID: libc::c_long = 11;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_PROG_QUERY: libc::c_long = 16;
/// `enum bpf_prog_type`.
pub const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `enum bpf_attach_type`.
pub const BPF_CGROUP_DEVICE: u32 = 6;
/// Several programs per cgroup, all of them must allow (as runc attaches):
/// also works under a parent that attached with the same flag.
const BPF_F_ALLOW_MULTI: u32 = 2;
/// `BPF_DEVCG_DEV_BLOCK`, `BPF_DEVCG_DEV_CHAR`.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// The name the harness's programs carry (at most 15 bytes): how a test finds
/// what a run left loaded.
pub const PROG_NAME: &str = "isobench_dev";

// Registers: r1 holds the context on entry; r0 the return value.
const R_TYPE: u8 = 3;
const R_ACCESS: u8 = 4;
const R_MAJOR: u8 = 5;
const R_MINOR: u8 = 6;
const R_SCRATCH: u8 = 7;

/// The program for `rules` ([`normal_form`]: a default, then exceptions to
/// it). It loads the context into registers, then for each exception tests
/// type, major, minor (where the rule names them) and the access — an
/// exception to allow must share an access with the request, one to deny must
/// cover the whole request — and returns the exception's answer on a match;
/// after the last, the default. The same decision as v1
/// ([`super::devices::permits`]).
pub fn program(rules: &[DeviceRule]) -> Vec<Insn> {
    let (default_allow, exceptions) = normal_form(rules);
    let mut p = vec![
        Insn::ldx_w(2, 1, 0), // r2 = ctx->access_type
        Insn::mov_x(R_TYPE, 2),
        Insn::and_k(R_TYPE, 0xffff), // type: the low 16 bits
        Insn::mov_x(R_ACCESS, 2),
        Insn::rsh_k(R_ACCESS, 16), // access: the high 16 bits
        Insn::ldx_w(R_MAJOR, 1, 4),
        Insn::ldx_w(R_MINOR, 1, 8),
    ];
    for r in &exceptions {
        let mut block = Vec::new();
        match r.kind {
            DevKind::Char => block.push(Insn::jump(JMP_JNE_K, R_TYPE, 0, DEV_CHAR)),
            DevKind::Block => block.push(Insn::jump(JMP_JNE_K, R_TYPE, 0, DEV_BLOCK)),
            // Never an exception (it is the default), but harmless: no test.
            DevKind::All => {}
        }
        // Device numbers are below 2^20: the immediate's sign extension cannot matter.
        if let Some(m) = r.major {
            block.push(Insn::jump(JMP_JNE_K, R_MAJOR, 0, m as i32));
        }
        if let Some(m) = r.minor {
            block.push(Insn::jump(JMP_JNE_K, R_MINOR, 0, m as i32));
        }
        if r.access != DevAccess::ALL {
            block.push(Insn::mov_x(R_SCRATCH, R_ACCESS));
            if default_allow {
                // A deny exception matches when the request shares an access with it.
                block.push(Insn::and_k(R_SCRATCH, r.access.0 as i32));
                block.push(Insn::jump(JMP_JEQ_K, R_SCRATCH, 0, 0));
            } else {
                // An allow exception matches when it covers every access requested.
                block.push(Insn::and_k(R_SCRATCH, (!r.access.0 & 7) as i32));
                block.push(Insn::jump(JMP_JNE_K, R_SCRATCH, 0, 0));
            }
        }
        block.push(Insn::mov_k(0, i32::from(r.allow)));
        block.push(Insn::exit());
        // Every test jumps past the block (to the next rule): its offset, 0
        // above, is known now.
        let n = block.len();
        for (i, insn) in block.iter_mut().enumerate() {
            if matches!(insn.code, JMP_JEQ_K | JMP_JNE_K) {
                insn.off = (n - i - 1) as i16;
            }
        }
        p.extend(block);
    }
    p.push(Insn::mov_k(0, i32::from(default_allow)));
    p.push(Insn::exit());
    p
}

/// `union bpf_attr` for BPF_PROG_ATTACH.
#[repr(C)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// `union bpf_attr` for BPF_PROG_QUERY.
#[repr(C)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// Loads `insns` as a cgroup device program. On a refusal the error carries
/// the verifier's log (`dir` names the cgroup it was meant for).
pub fn load(insns: &[Insn], dir: &Path) -> Result<OwnedFd, CgroupError> {
    bpf::load(
        BPF_PROG_TYPE_CGROUP_DEVICE,
        BPF_CGROUP_DEVICE,
        PROG_NAME,
        insns,
    )
    .map_err(|r| CgroupError::Bpf {
        what: "load the device program",
        path: dir.to_path_buf(),
        errno: r.errno,
        log: r.log,
    })
}

fn open_dir(dir: &Path, what: &'static str) -> Result<std::fs::File, CgroupError> {
    std::fs::File::open(dir).map_err(|e| CgroupError::Bpf {
        what,
        path: dir.to_path_buf(),
        errno: super::errno_of(&e),
        log: String::new(),
    })
}

/// Attaches a loaded device program to cgroup2 directory `dir`. The cgroup
/// then holds the program: the fd may be closed, and removing the cgroup
/// releases it.
pub fn attach(prog: &OwnedFd, dir: &Path) -> Result<(), CgroupError> {
    let cg = open_dir(dir, "attach the device program")?;
    let mut attr = AttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    bpf(BPF_PROG_ATTACH, &mut attr)
        .map(|_| ())
        .map_err(|errno| CgroupError::Bpf {
            what: "attach the device program",
            path: dir.to_path_buf(),
            errno,
            log: String::new(),
        })
}

/// Builds, loads and attaches the program for `rules` to cgroup2 directory `dir`.
pub fn apply(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let prog = load(&program(rules), dir)?;
    attach(&prog, dir)
}

/// The ids of the device programs attached to cgroup2 directory `dir` itself.
pub fn attached(dir: &Path) -> Result<Vec<u32>, CgroupError> {
    let cg = open_dir(dir, "query the device programs")?;
    let mut ids = [0u32; 64];
    let mut attr = QueryAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        query_flags: 0,
        attach_flags: 0,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        _pad: 0,
    };
    bpf(BPF_PROG_QUERY, &mut attr).map_err(|errno| CgroupError::Bpf {
        what: "query the device programs",
        path: dir.to_path_buf(),
        errno,
        log: String::new(),
    })?;
    Ok(ids[..(attr.prog_cnt as usize).min(ids.len())].to_vec())
}

/// The ids of every loaded BPF program named [`PROG_NAME`] on the machine:
/// what a run must not leave behind. Programs that vanish while listed are skipped.
pub fn loaded() -> Result<Vec<u32>, Errno> {
    #[repr(C)]
    struct IdAttr {
        id: u32,
        next_id: u32,
        open_flags: u32,
    }
    #[repr(C)]
    struct InfoAttr {
        bpf_fd: u32,
        info_len: u32,
        info: u64,
    }
    let mut out = Vec::new();
    let mut id = 0;
    loop {
        let mut next = IdAttr {
            id,
            next_id: 0,
            open_flags: 0,
        };
        match bpf(BPF_PROG_GET_NEXT_ID, &mut next) {
            Ok(_) => id = next.next_id,
            Err(Errno::ENOENT) => return Ok(out),
            Err(e) => return Err(e),
        }
        let mut by_id = IdAttr {
            id,
            next_id: 0,
            open_flags: 0,
        };
        let fd = match bpf(BPF_PROG_GET_FD_BY_ID, &mut by_id) {
            // SAFETY: a new fd from the kernel.
            Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd as i32) },
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        // `struct bpf_prog_info`: the name is 16 bytes at offset 64.
        let mut info = [0u8; 80];
        let mut attr = InfoAttr {
            bpf_fd: fd.as_raw_fd() as u32,
            info_len: info.len() as u32,
            info: info.as_mut_ptr() as u64,
        };
        bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
        let name = &info[64..80];
        let end = name.iter().position(|&b| b == 0).unwrap_or(16);
        if &name[..end] == PROG_NAME.as_bytes() {
            out.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::{ALU64_AND_K, ALU64_MOV_K, ALU64_MOV_X, ALU64_RSH_K, JMP_EXIT, LDX_MEM_W};

    /// Runs `p` on a context as the kernel would for the opcodes the builder
    /// emits (any other opcode fails the test).
    fn run(p: &[Insn], kind: DevKind, major: u32, minor: u32, access: DevAccess) -> u64 {
        let ty = match kind {
            DevKind::Block => 1u32,
            DevKind::Char => 2,
            DevKind::All => unreachable!(),
        };
        let ctx = [(u32::from(access.0) << 16) | ty, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        for _ in 0..10_000 {
            let i = p[pc];
            let (d, s) = (i.dst() as usize, i.src() as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(s, 1, "loads only from the context");
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                ALU64_MOV_X => r[d] = r[s],
                ALU64_MOV_K => r[d] = i.imm as i64 as u64,
                ALU64_AND_K => r[d] &= i.imm as i64 as u64,
                ALU64_RSH_K => r[d] >>= i.imm,
                JMP_JEQ_K | JMP_JNE_K => {
                    let eq = r[d] == i.imm as i64 as u64;
                    if eq == (i.code == JMP_JEQ_K) {
                        pc = (pc as i64 + i64::from(i.off)) as usize;
                    }
                }
                JMP_EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
        panic!("the program did not exit");
    }

    fn bytes(p: &[Insn]) -> Vec<[u8; 8]> {
        p.iter()
            .map(|i| {
                let mut b = [0u8; 8];
                b[0] = i.code;
                b[1] = i.regs;
                b[2..4].copy_from_slice(&i.off.to_le_bytes());
                b[4..8].copy_from_slice(&i.imm.to_le_bytes());
                b
            })
            .collect()
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn deny_one_encodes_as_expected() {
        let p = program(&[DeviceRule::char(false, 1, 7)]);
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        assert_eq!(
            bytes(&p),
            vec![
                [0x61, 0x12, 0, 0, 0, 0, 0, 0],       // r2 = *(u32 *)(r1 + 0)
                [0xbf, 0x23, 0, 0, 0, 0, 0, 0],       // r3 = r2
                [0x57, 0x03, 0, 0, 0xff, 0xff, 0, 0], // r3 &= 0xffff
                [0xbf, 0x24, 0, 0, 0, 0, 0, 0],       // r4 = r2
                [0x77, 0x04, 0, 0, 16, 0, 0, 0],      // r4 >>= 16
                [0x61, 0x15, 4, 0, 0, 0, 0, 0],       // r5 = *(u32 *)(r1 + 4)
                [0x61, 0x16, 8, 0, 0, 0, 0, 0],       // r6 = *(u32 *)(r1 + 8)
                [0x55, 0x03, 4, 0, 2, 0, 0, 0],       // if r3 != CHAR goto +4
                [0x55, 0x05, 3, 0, 1, 0, 0, 0],       // if r5 != 1 goto +3
                [0x55, 0x06, 2, 0, 7, 0, 0, 0],       // if r6 != 7 goto +2
                [0xb7, 0x00, 0, 0, 0, 0, 0, 0],       // r0 = 0 (deny)
                [0x95, 0x00, 0, 0, 0, 0, 0, 0],       // exit
                [0xb7, 0x00, 0, 0, 1, 0, 0, 0],       // r0 = 1 (default allow)
                [0x95, 0x00, 0, 0, 0, 0, 0, 0],       // exit
            ]
        );
    }

    #[test]
    fn an_allow_list_ends_in_deny() {
        let p = program(&[
            DeviceRule::all(false),
            DeviceRule::char(true, 1, 3),
            DeviceRule::char(true, 1, 5),
        ]);
        // Prologue 7, two rules of 5, the default 2.
        assert_eq!(p.len(), 7 + 5 + 5 + 2);
        assert_eq!(p[p.len() - 2], Insn::mov_k(0, 0));
        assert_eq!(p[10], Insn::mov_k(0, 1));
        // Every jump lands inside the program, on a rule's start or the default.
        for (i, insn) in p.iter().enumerate() {
            if matches!(insn.code, JMP_JEQ_K | JMP_JNE_K) {
                let to = i + 1 + insn.off as usize;
                assert!(to == 12 || to == 17, "jump at {i} to {to}");
            }
        }
    }

    #[test]
    fn partial_access_is_tested() {
        let read_only = DeviceRule {
            access: DevAccess::READ,
            ..DeviceRule::char(true, 1, 3)
        };
        let p = program(&[DeviceRule::all(false), read_only]);
        // mov, and with the accesses not allowed (write|mknod = 5), jne.
        assert_eq!(p[10], Insn::mov_x(R_SCRATCH, R_ACCESS));
        assert_eq!(p[11], Insn::and_k(R_SCRATCH, 5));
        assert_eq!(p[12].code, JMP_JNE_K);
    }

    /// The program decides as v1 does, over rule lists and requests.
    #[test]
    fn programs_decide_as_v1() {
        let acc = [1u8, 2, 4, 3, 6, 7].map(DevAccess);
        let mut lists: Vec<Vec<DeviceRule>> = vec![
            vec![],
            vec![DeviceRule::char(false, 1, 7)],
            vec![
                DeviceRule::all(false),
                DeviceRule::char(true, 1, 3),
                DeviceRule::char(true, 1, 5),
            ],
            vec![DeviceRule::all(true), DeviceRule::char(false, 1, 3)],
        ];
        for allow in [true, false] {
            for a in acc {
                for (major, minor) in [(Some(1), None), (None, Some(5)), (Some(1), Some(3))] {
                    for kind in [DevKind::Char, DevKind::Block] {
                        let r = DeviceRule {
                            allow,
                            kind,
                            major,
                            minor,
                            access: a,
                        };
                        lists.push(vec![DeviceRule::all(!allow), r]);
                        lists.push(vec![r, DeviceRule::char(allow, 1, 7)]);
                    }
                }
            }
        }
        for rules in &lists {
            let p = program(rules);
            for kind in [DevKind::Char, DevKind::Block] {
                for (major, minor) in [(1, 3), (1, 5), (1, 7), (4, 3), (8, 0)] {
                    for a in acc {
                        let want = permits(rules, kind, major, minor, a);
                        let got = run(&p, kind, major, minor, a) == 1;
                        assert_eq!(
                            got, want,
                            "{rules:?}: {kind:?} {major}:{minor} {a} -> {got}"
                        );
                    }
                }
            }
        }
    }

    use super::super::devices::permits;
}
