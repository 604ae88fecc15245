//! External commands with a timeout; exit status, signal, duration and the head of stderr recorded.
//!
//! Only for evidence no file holds (`systemctl`, `auditctl`, `journalctl`). The command runs in its own
//! process group with stdin from `/dev/null`, `LC_ALL=C`, and both pipes read without blocking, so neither
//! a chatty command (full pipe) nor a hung one (no output) can stall the collector: at the deadline the whole
//! group gets `SIGKILL`. Never run under `--root` (the image's binaries are not the host's state).

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use coroner_schemas::manifest::{Category, CommandRun, Format, Kept, Status};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::{self as rfs, OFlags};
use rustix::process::{kill_process_group, Pid, Signal};

use super::fsutil;
use super::{CaptureItem, Ctx, Item};

/// Bytes of stderr kept in [`CommandRun::stderr`].
pub const STDERR_KEEP: usize = 1024;

/// Where programs are looked for (the collector's own `PATH` may be minimal or hostile).
pub const PROGRAM_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0} not installed")]
    NotInstalled(String),
    #[error("empty command line")]
    Empty,
    #[error("cannot run {program}: {source}")]
    Spawn { program: String, source: io::Error },
    #[error("waiting for {program}: {source}")]
    Wait { program: String, source: io::Error },
}

/// What a finished (or killed) command left.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub run: CommandRun,
    /// Standard output, at most the cap given to [`run`].
    pub stdout: Vec<u8>,
    /// Bytes of standard output seen in all (more than `stdout.len()` when cut at the cap).
    pub stdout_seen: u64,
}

impl Output {
    pub fn stdout_truncated(&self) -> bool {
        self.stdout_seen > self.stdout.len() as u64
    }
}

/// The first of [`PROGRAM_DIRS`] holding an executable regular file `name`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    PROGRAM_DIRS.iter().map(|d| Path::new(d).join(name)).find(|p| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

/// One end of a pipe being drained without blocking.
struct Drain<R> {
    pipe: Option<R>,
    buf: Vec<u8>,
    cap: usize,
    seen: u64,
}

impl<R: Read + AsFd> Drain<R> {
    fn new(pipe: Option<R>, cap: usize) -> Self {
        if let Some(p) = &pipe {
            set_nonblocking(p.as_fd());
        }
        Drain {
            pipe,
            buf: Vec::new(),
            cap,
            seen: 0,
        }
    }
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.pipe.as_ref().map(AsFd::as_fd)
    }
    /// Reads what is available; closes the pipe at EOF or on an error.
    fn pump(&mut self) {
        let Some(p) = self.pipe.as_mut() else { return };
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match p.read(&mut chunk) {
                Ok(0) => {
                    self.pipe = None;
                    return;
                }
                Ok(n) => {
                    self.seen += n as u64;
                    let room = self.cap.saturating_sub(self.buf.len());
                    self.buf.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.pipe = None;
                    return;
                }
            }
        }
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) {
    // Failure leaves it blocking, which poll() still guards.
    if let Ok(fl) = rfs::fcntl_getfl(fd) {
        let _ = rfs::fcntl_setfl(fd, fl | OFlags::NONBLOCK);
    }
}

/// Waits up to `ms` for either fd to become readable (or hung up).
fn poll_fds(fds: &[BorrowedFd<'_>], ms: u32) {
    if fds.is_empty() {
        std::thread::sleep(Duration::from_millis(u64::from(ms)));
        return;
    }
    let mut pfds: Vec<PollFd<'_>> = fds.iter().map(|fd| PollFd::new(fd, PollFlags::IN)).collect();
    let timeout = Timespec { tv_sec: i64::from(ms / 1000), tv_nsec: i64::from(ms % 1000) * 1_000_000 };
    let _ = poll(&mut pfds, Some(&timeout));
}

fn kill_group(child: &Child) {
    // The child leads its own process group (process_group(0)), so its pid names that group.
    let _ = kill_process_group(Pid::from_child(child), Signal::KILL);
}

/// Runs `argv` (program looked up in [`PROGRAM_DIRS`] unless absolute) with `extra_env` added, killing its
/// process group after `timeout`; keeps at most `stdout_cap` bytes of stdout and [`STDERR_KEEP`] of stderr.
pub fn run(
    argv: &[&str],
    extra_env: &[(&str, &str)],
    timeout: Duration,
    stdout_cap: usize,
) -> Result<Output, CommandError> {
    let Some(&prog) = argv.first() else {
        return Err(CommandError::Empty);
    };
    let path = if prog.starts_with('/') {
        PathBuf::from(prog)
    } else {
        find_program(prog).ok_or_else(|| CommandError::NotInstalled(prog.to_owned()))?
    };
    let mut cmd = Command::new(&path);
    cmd.args(&argv[1..])
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => CommandError::NotInstalled(prog.to_owned()),
        _ => CommandError::Spawn {
            program: prog.to_owned(),
            source,
        },
    })?;
    let mut out: Drain<ChildStdout> = Drain::new(child.stdout.take(), stdout_cap);
    let mut err: Drain<ChildStderr> = Drain::new(child.stderr.take(), STDERR_KEEP);
    let deadline = start + timeout;
    let mut status = None;
    let mut timed_out = false;
    loop {
        out.pump();
        err.pump();
        if status.is_none() {
            status = child.try_wait().map_err(|source| CommandError::Wait {
                program: prog.to_owned(),
                source,
            })?;
        }
        let open: Vec<BorrowedFd<'_>> = [out.fd(), err.fd()].into_iter().flatten().collect();
        if status.is_some() && open.is_empty() {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            // The command (or a child of it still holding our pipes) outlived its time: kill the group.
            timed_out = status.is_none();
            kill_group(&child);
            break;
        }
        let left = deadline.saturating_duration_since(now).as_millis().min(20) as u32;
        poll_fds(&open, left.max(1));
    }
    let status = match status {
        Some(s) => s,
        None => child.wait().map_err(|source| CommandError::Wait {
            program: prog.to_owned(),
            source,
        })?,
    };
    // Whatever was already in the pipes after the kill.
    out.pump();
    err.pump();
    let duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(Output {
        run: CommandRun {
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            exit_code: status.code(),
            signal: status.signal(),
            duration_ms,
            timed_out,
            stderr: String::from_utf8_lossy(&err.buf).into_owned(),
        },
        stdout_seen: out.seen,
        stdout: out.buf,
    })
}

/// Runs a command for the bundle: a [`CaptureItem`] of its stdout under `bundle_path` (status `Ok`, or `Io`
/// when it failed or timed out, `Truncated` when over the per-file cap), or an `Absent` item when it cannot
/// run (not live: `NotApplicable`; not installed: `NotApplicable "... not installed"`).
pub fn capture(
    ctx: &Ctx,
    argv: &[&str],
    extra_env: &[(&str, &str)],
    bundle_path: &str,
    category: Category,
    format: Format,
) -> Item {
    let source = argv.join(" ");
    if !ctx.live {
        return fsutil::not_live(bundle_path, source, category, format);
    }
    let cap = usize::try_from(ctx.opts.max_file_bytes).unwrap_or(usize::MAX);
    let timeout = Duration::from_millis(ctx.opts.command_timeout_ms.max(1));
    match run(argv, extra_env, timeout, cap) {
        Ok(o) => {
            let status = if o.run.timed_out {
                Status::Io {
                    message: format!(
                        "timed out after {} ms and killed; output kept up to the kill",
                        o.run.duration_ms
                    ),
                }
            } else if o.run.exit_code != Some(0) {
                let first = o.run.stderr.lines().next().unwrap_or("").to_owned();
                match (o.run.exit_code, o.run.signal) {
                    (Some(c), _) => Status::Io {
                        message: format!("exit status {c}: {first}"),
                    },
                    (None, Some(s)) => Status::Io {
                        message: format!("killed by signal {s}: {first}"),
                    },
                    _ => Status::Io {
                        message: format!("ended abnormally: {first}"),
                    },
                }
            } else if o.stdout_truncated() {
                Status::Truncated {
                    kept: Kept::Head,
                    original_size: o.stdout_seen,
                    reason: format!("output over the per-file cap of {cap} bytes"),
                }
            } else {
                Status::Ok
            };
            Item::Capture(CaptureItem {
                bundle_path: bundle_path.to_owned(),
                source,
                category,
                format,
                account: None,
                data: o.stdout,
                status,
                command: Some(o.run),
            })
        }
        Err(CommandError::NotInstalled(p)) => fsutil::absent(
            bundle_path,
            source,
            category,
            format,
            Status::NotApplicable {
                reason: format!("{p} not installed"),
            },
        ),
        Err(e) => fsutil::absent(
            bundle_path,
            source,
            category,
            format,
            Status::Io { message: e.to_string() },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_exit_code_are_kept() {
        let o = run(
            &["sh", "-c", "printf 'hello\\n'; echo oops >&2; exit 3"],
            &[],
            Duration::from_secs(20),
            1 << 20,
        )
        .expect("sh runs");
        assert_eq!(o.stdout, b"hello\n");
        assert_eq!(o.run.exit_code, Some(3));
        assert_eq!(o.run.signal, None);
        assert!(!o.run.timed_out);
        assert_eq!(o.run.stderr, "oops\n");
    }

    #[test]
    fn stdout_is_capped_but_counted() {
        let o = run(
            &["sh", "-c", "head -c 100000 /dev/zero"],
            &[],
            Duration::from_secs(20),
            1000,
        )
        .expect("sh runs");
        assert_eq!(o.stdout.len(), 1000);
        assert_eq!(o.stdout_seen, 100_000);
        assert!(o.stdout_truncated());
    }

    #[test]
    fn missing_program_is_not_installed() {
        let e = run(&["coroner-no-such-program-xyz"], &[], Duration::from_secs(1), 10).expect_err("absent");
        assert!(
            matches!(e, CommandError::NotInstalled(ref p) if p == "coroner-no-such-program-xyz"),
            "{e}"
        );
    }
}
