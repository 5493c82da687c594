//! What the net_cls and net_prio probes need from the kernel's network stack:
//! a sender worker that counts its own datagrams, a private network namespace
//! held by a helper process (`isobench worker net-hold`), iproute2's `tc` run
//! inside that namespace (the kernel's own packet classifier), and a passive
//! tap on `lo` that reads each outgoing packet's `skb->priority`.
//!
//! Nothing here configures an interface of the harness's own network namespace:
//! tc only ever runs inside the private namespace, and the tap only reads.

use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::bpf::{self, Insn, BPF_PROG_TYPE_SOCKET_FILTER, JMP_JGT_K, JMP_JNE_K};
use crate::cgroup::Cgroup;

/// Bytes of payload in each datagram: with the headers a packet is longer than
/// what the tap keeps of it, so the kept length can carry the priority.
pub const PAYLOAD_BYTES: usize = 64;

/// Why a network helper could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("start {what}: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
    #[error("`tc {args}` in the private network namespace failed ({status}): {stderr}")]
    Tc {
        args: String,
        status: String,
        stderr: String,
    },
    #[error("{what}: {source}")]
    Sys {
        what: &'static str,
        source: std::io::Error,
    },
    #[error("the {what} worker did not report (got {line:?})")]
    Report { what: &'static str, line: String },
}

fn sys(what: &'static str) -> impl FnOnce(std::io::Error) -> NetError {
    move |source| NetError::Sys { what, source }
}

fn last(what: &'static str) -> NetError {
    NetError::Sys {
        what,
        source: std::io::Error::last_os_error(),
    }
}

// ---- the sender worker ---------------------------------------------------------

/// `isobench worker net-send --packets N [--netns PATH]`: joins the network
/// namespace PATH (if given), binds a receiver on 127.0.0.1, and sends it N
/// datagrams of [`PAYLOAD_BYTES`] from a second socket without SO_PRIORITY,
/// receiving each one (so the kernel answers no datagram with an ICMP error).
/// Prints `sent <n> received <m> port <receiver port>`: its own count.
pub fn send_main(packets: u64, netns: Option<&Path>) -> i32 {
    match send(packets, netns) {
        Ok((sent, received, port)) => {
            println!("sent {sent} received {received} port {port}");
            0
        }
        Err(e) => {
            eprintln!("isobench worker net-send: {e}");
            1
        }
    }
}

fn send(packets: u64, netns: Option<&Path>) -> Result<(u64, u64, u16), NetError> {
    if let Some(p) = netns {
        let f = std::fs::File::open(p).map_err(sys("open the network namespace"))?;
        crate::ns::setns(f.as_raw_fd(), libc::CLONE_NEWNET as u64)
            .map_err(sys("setns into the network namespace"))?;
    }
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").map_err(sys("bind the receiver"))?;
    rx.set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(sys("receiver timeout"))?;
    let port = rx.local_addr().map_err(sys("receiver address"))?.port();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").map_err(sys("bind the sender"))?;
    let payload = [0x5au8; PAYLOAD_BYTES];
    let mut buf = [0u8; 2 * PAYLOAD_BYTES];
    let (mut sent, mut received) = (0, 0);
    for _ in 0..packets {
        if tx.send_to(&payload, ("127.0.0.1", port)).ok() == Some(PAYLOAD_BYTES) {
            sent += 1;
            if rx.recv(&mut buf).is_ok() {
                received += 1;
            }
        }
    }
    Ok((sent, received, port))
}

/// What a sender worker reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub sent: u64,
    pub received: u64,
    pub port: u16,
}

/// Parses the worker's `sent N received M port P` line.
pub fn parse_sent(line: &str) -> Option<Sent> {
    let f: Vec<&str> = line.split_whitespace().collect();
    match f.as_slice() {
        ["sent", s, "received", r, "port", p] => Some(Sent {
            sent: s.parse().ok()?,
            received: r.parse().ok()?,
            port: p.parse().ok()?,
        }),
        _ => None,
    }
}

/// Runs a sender worker to its end: inside `cg` (entered between fork and
/// exec) or, for the control, where the harness is; in the network namespace
/// `netns`, or the harness's own.
pub fn run_sender(
    exe: &Path,
    packets: u64,
    netns: Option<&Path>,
    cg: Option<&Cgroup>,
) -> Result<Sent, NetError> {
    let mut cmd = Command::new(exe);
    // Its own process group: a Ctrl-C stops the harness, not the worker mid-count.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.args(["worker", "net-send", "--packets", &packets.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if let Some(p) = netns {
        cmd.arg("--netns").arg(p);
    }
    let child = match cg {
        Some(cg) => super::spawn_in(&mut cmd, cg).map_err(|e| NetError::Spawn {
            what: "the sender in its cgroup".into(),
            source: std::io::Error::other(e.to_string()),
        })?,
        None => cmd.spawn().map_err(|source| NetError::Spawn {
            what: "the control sender".into(),
            source,
        })?,
    };
    let out = child
        .wait_with_output()
        .map_err(sys("wait for the sender"))?;
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    parse_sent(&line).ok_or(NetError::Report {
        what: "net-send",
        line,
    })
}

// ---- the private network namespace -----------------------------------------------

/// `isobench worker net-hold`: makes a network namespace of its own, sets its
/// `lo` up, prints `ready`, and holds the namespace until stdin closes. The
/// namespace dies with this process (nothing else keeps it: no bind mount).
pub fn hold_main() -> i32 {
    let r = crate::ns::unshare(libc::CLONE_NEWNET as u64)
        .map_err(sys("unshare(CLONE_NEWNET)"))
        .and_then(|()| lo_up());
    if let Err(e) = r {
        eprintln!("isobench worker net-hold: {e}");
        return 1;
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    let mut b = [0u8; 1];
    while matches!(std::io::Read::read(&mut std::io::stdin(), &mut b), Ok(n) if n > 0) {}
    0
}

/// `struct ifreq` with the flags member of its union (40 bytes on 64-bit).
#[repr(C)]
struct IfreqFlags {
    name: [u8; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Sets `lo` of the caller's network namespace up (a new namespace's lo is down).
fn lo_up() -> Result<(), NetError> {
    // SAFETY: plain socket syscall; the fd is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(last("socket for SIOCSIFFLAGS"));
    }
    // SAFETY: a fresh fd we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = IfreqFlags {
        name: [0; libc::IFNAMSIZ],
        flags: 0,
        _pad: [0; 22],
    };
    req.name[..2].copy_from_slice(b"lo");
    // SAFETY: ioctls on an ifreq-sized buffer we own.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) != 0 {
            return Err(last("SIOCGIFFLAGS lo"));
        }
        req.flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) != 0 {
            return Err(last("SIOCSIFFLAGS lo up"));
        }
    }
    Ok(())
}

/// A private network namespace, alive while this handle (and its holder
/// process) is. Dropping it ends the holder and reaps it.
#[derive(Debug)]
pub struct Netns {
    holder: Child,
    path: PathBuf,
}

impl Netns {
    /// Starts the holder and waits until its namespace is ready.
    pub fn new(exe: &Path) -> Result<Netns, NetError> {
        let mut cmd = Command::new(exe);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.args(["worker", "net-hold"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut holder = cmd.spawn().map_err(|source| NetError::Spawn {
            what: "the network namespace holder".into(),
            source,
        })?;
        let mut line = String::new();
        let _ = BufReader::new(holder.stdout.take().expect("piped stdout")).read_line(&mut line);
        if line.trim() != "ready" {
            let _ = holder.kill();
            let out = holder.wait_with_output().ok();
            let err = out
                .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_string())
                .unwrap_or_default();
            return Err(NetError::Report {
                what: "net-hold",
                line: format!("{}{err}", line.trim()),
            });
        }
        let path = PathBuf::from(format!("/proc/{}/ns/net", holder.id()));
        Ok(Netns { holder, path })
    }

    /// `/proc/<holder>/ns/net`: what setns() takes to join it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn holder_pid(&self) -> i32 {
        self.holder.id() as i32
    }

    /// Runs `tc ARGS` inside the namespace (the child joins it between fork
    /// and exec); returns its stdout.
    pub fn tc(&self, tc: &Path, args: &[&str]) -> Result<String, NetError> {
        let ns = std::fs::File::open(&self.path).map_err(sys("open the network namespace"))?;
        let fd = ns.as_raw_fd();
        let mut cmd = Command::new(tc);
        cmd.args(args).stdin(Stdio::null());
        // SAFETY: setns is a plain syscall (async-signal-safe); the fd is open
        // (close-on-exec) for as long as `ns` lives, past the spawn.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                crate::ns::setns(fd, libc::CLONE_NEWNET as u64)
            });
        }
        let out = cmd.output().map_err(|source| NetError::Spawn {
            what: format!("{}", tc.display()),
            source,
        })?;
        drop(ns);
        if !out.status.success() {
            return Err(NetError::Tc {
                args: args.join(" "),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Ends the holder and reaps it; true when it is gone (the namespace with it).
    pub fn close(mut self) -> bool {
        self.end()
    }

    fn end(&mut self) -> bool {
        drop(self.holder.stdin.take());
        // The holder exits on EOF at once; a kill covers one stuck elsewhere.
        for _ in 0..200 {
            if let Ok(Some(_)) = self.holder.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.holder.kill();
        self.holder.wait().is_ok()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.end();
    }
}

/// Whether `lo` of the caller's network namespace is up (IFF_UP in its sysfs
/// flags). isobench never sets an interface of its own namespace up.
pub fn lo_is_up() -> bool {
    std::fs::read_to_string("/sys/class/net/lo/flags")
        .ok()
        .and_then(|t| u32::from_str_radix(t.trim().trim_start_matches("0x"), 16).ok())
        .is_some_and(|f| f & libc::IFF_UP as u32 != 0)
}

/// iproute2's `tc`: the first `tc` on PATH (or in /sbin, /usr/sbin) that says
/// it is iproute2's (busybox has a `tc` applet that cannot add a filter).
pub fn find_tc() -> Result<PathBuf, String> {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path
        .split(':')
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .chain(["/sbin", "/usr/sbin"].map(PathBuf::from));
    let mut other = None;
    for d in dirs {
        let p = d.join("tc");
        if !p.is_file() {
            continue;
        }
        let version = Command::new(&p)
            .arg("-V")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if version.contains("iproute2") {
            return Ok(p);
        }
        other.get_or_insert(p);
    }
    Err(match other {
        Some(p) => format!(
            "{} is not iproute2's tc (it cannot add a cgroup filter); hint: install the iproute2 package",
            p.display()
        ),
        None => "tc is not installed; hint: install the iproute2 package".into(),
    })
}

/// One class of `tc -s class show`: its id (`1:3`) and the packets it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassCount {
    pub class: String,
    pub packets: u64,
}

/// Parses `tc -s class show dev DEV`: a `class <kind> <id> ...` line, then
/// ` Sent <bytes> bytes <packets> pkt ...`.
pub fn parse_classes(text: &str) -> Vec<ClassCount> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["class", _kind, id, ..] => current = Some((*id).to_string()),
            ["Sent", _, "bytes", pkts, "pkt", ..] => {
                if let (Some(c), Ok(n)) = (current.take(), pkts.parse()) {
                    out.push(ClassCount {
                        class: c,
                        packets: n,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

// ---- the priority tap -------------------------------------------------------------

/// What the tap keeps of a packet: `TAP_BASE + priority` bytes (the priority
/// capped at [`TAP_PRIO_CAP`]), so the length a read returns carries it.
pub const TAP_BASE: usize = 64;
pub const TAP_PRIO_CAP: u32 = 16;

/// A socket filter (eBPF) that keeps outgoing packets only, cut to
/// `TAP_BASE + min(skb->priority, TAP_PRIO_CAP)` bytes. `__sk_buff` offsets:
/// pkt_type 4, priority 32; PACKET_OUTGOING is 4.
fn tap_program() -> [Insn; 10] {
    [
        Insn::ldx_w(0, 1, 4),                                      // r0 = skb->pkt_type
        Insn::jump(JMP_JNE_K, 0, 6, libc::PACKET_OUTGOING as i32), // not outgoing: drop
        Insn::ldx_w(0, 1, 32),                                     // r0 = skb->priority
        Insn::jump(JMP_JGT_K, 0, 2, TAP_PRIO_CAP as i32 - 1),      // above the cap: keep the cap
        Insn::add_k(0, TAP_BASE as i32),
        Insn::exit(),
        Insn::mov_k(0, (TAP_BASE as u32 + TAP_PRIO_CAP) as i32),
        Insn::exit(),
        Insn::mov_k(0, 0),
        Insn::exit(),
    ]
}

/// One packet the tap kept: the UDP destination port and the priority it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tapped {
    pub dport: u16,
    pub priority: u32,
}

/// A passive tap on `lo` of the caller's network namespace: a packet socket
/// whose eBPF filter reports each outgoing packet's skb->priority. It changes
/// nothing on the device (no qdisc, no filter on the interface).
pub struct PrioTap {
    sock: OwnedFd,
}

impl PrioTap {
    pub fn open() -> Result<PrioTap, NetError> {
        let prog_fd = bpf::load(
            BPF_PROG_TYPE_SOCKET_FILTER,
            0,
            "isobench_tap",
            &tap_program(),
        )
        .map_err(|r| {
            let source = std::io::Error::from_raw_os_error(r.errno as i32);
            NetError::Sys {
                what: "load the tap's eBPF socket filter (bpf BPF_PROG_LOAD)",
                source: if r.log.is_empty() {
                    source
                } else {
                    std::io::Error::other(format!("{source}: {}", r.log))
                },
            }
        })?;
        // Protocol 0: the socket receives nothing until bound below, after the
        // filter is attached (no unfiltered packet slips in).
        // SAFETY: plain socket syscall.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(last("socket(AF_PACKET)"));
        }
        // SAFETY: a fresh fd we own.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        let setopt = |opt: i32, v: i32, what: &'static str| -> Result<(), NetError> {
            // SAFETY: an int option on our socket.
            let r = unsafe {
                libc::setsockopt(
                    sock.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&v as *const i32).cast(),
                    4,
                )
            };
            if r == 0 {
                Ok(())
            } else {
                Err(last(what))
            }
        };
        setopt(libc::SO_ATTACH_BPF, prog_fd.as_raw_fd(), "SO_ATTACH_BPF")?;
        // Room for every packet of a case until it is drained.
        setopt(libc::SO_RCVBUFFORCE, 8 << 20, "SO_RCVBUFFORCE")?;
        let lo = CString::new("lo").expect("no NUL");
        // SAFETY: a NUL-terminated name.
        let ifindex = unsafe { libc::if_nametoindex(lo.as_ptr()) };
        if ifindex == 0 {
            return Err(last("if_nametoindex(lo)"));
        }
        // SAFETY: a zeroed sockaddr_ll is valid; fields set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: binding our socket to a valid sockaddr_ll.
        let r = unsafe {
            libc::bind(
                sock.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r != 0 {
            return Err(last("bind the tap to lo"));
        }
        Ok(PrioTap { sock })
    }

    /// Every packet kept since the last drain that is a UDP datagram (others,
    /// and runts, are skipped).
    pub fn drain(&self) -> Vec<Tapped> {
        let mut out = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            // SAFETY: reading into our buffer without blocking.
            let n = unsafe {
                libc::recv(
                    self.sock.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                break;
            }
            if let Some(t) = parse_tapped(&buf[..n as usize]) {
                out.push(t);
            }
        }
        out
    }
}

/// A kept packet (Ethernet header, IPv4, UDP, cut to `TAP_BASE + priority`)
/// as the destination port and the priority.
pub fn parse_tapped(pkt: &[u8]) -> Option<Tapped> {
    const ETH: usize = 14;
    let priority = pkt.len().checked_sub(TAP_BASE)? as u32;
    let ip = pkt.get(ETH..)?;
    if ip.first()? >> 4 != 4 || *ip.get(9)? != libc::IPPROTO_UDP as u8 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let udp = ip.get(ihl..ihl + 4)?;
    Some(Tapped {
        dport: u16::from_be_bytes([udp[2], udp[3]]),
        priority,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tc_classes_parse() {
        let text = "class prio 1:1 parent 1: \n Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0\nclass prio 1:2 parent 1: \n Sent 10600 bytes 100 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0\nclass prio 1:3 parent 1: \n Sent 10600 bytes 100 pkt (dropped 0, overlimits 0 requeues 0) \n backlog 0b 0p requeues 0\n";
        assert_eq!(
            parse_classes(text),
            vec![
                ClassCount {
                    class: "1:1".into(),
                    packets: 0
                },
                ClassCount {
                    class: "1:2".into(),
                    packets: 100
                },
                ClassCount {
                    class: "1:3".into(),
                    packets: 100
                },
            ]
        );
        assert!(parse_classes("").is_empty());
    }

    #[test]
    fn sender_lines_parse() {
        assert_eq!(
            parse_sent("sent 100 received 99 port 40000"),
            Some(Sent {
                sent: 100,
                received: 99,
                port: 40000
            })
        );
        assert_eq!(parse_sent("sent x"), None);
    }

    #[test]
    fn tapped_packets_carry_port_and_priority() {
        let mut p = vec![0u8; TAP_BASE + 5];
        p[14] = 0x45; // IPv4, 20-byte header
        p[14 + 9] = 17; // UDP
        p[14 + 20 + 2..14 + 20 + 4].copy_from_slice(&40000u16.to_be_bytes());
        assert_eq!(
            parse_tapped(&p),
            Some(Tapped {
                dport: 40000,
                priority: 5
            })
        );
        p[14 + 9] = 6; // TCP: not ours
        assert_eq!(parse_tapped(&p), None);
        assert_eq!(parse_tapped(&[0u8; 20]), None);
    }

    #[test]
    fn the_tap_program_has_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<IfreqFlags>(), 40);
        let p = tap_program();
        // Every jump lands inside the program, on the drop or the cap.
        assert_eq!(1 + 1 + p[1].off as usize, 8);
        assert_eq!(3 + 1 + p[3].off as usize, 6);
    }
}
