//! A Litestream left running by a server that was killed (SIGKILL, OOM, power cut of
//! the container's init but not the machine).
//!
//! Litestream outlives a server that dies without stopping it, and keeps shipping what
//! that server committed, which is what one wants. But a new server on the same database
//! must not start a second one beside it: two replicators of one database fight over its
//! checkpoints and its replica. So the supervisor notes its child's pid beside the
//! database, and on start stops the one a previous server left, if that process is still
//! a Litestream for this very configuration (pids get reused).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often to look whether the leftover has exited.
const POLL: Duration = Duration::from_millis(50);

/// Where the running child's pid is noted: beside the generated configuration.
pub(super) fn pid_file(config: &Path) -> PathBuf {
    config.with_extension("pid")
}

/// Notes the child's pid (best effort: without it, only a leftover goes unnoticed).
pub(super) fn note(config: &Path, pid: Option<u32>) {
    let Some(pid) = pid else { return };
    if let Err(err) = std::fs::write(pid_file(config), pid.to_string()) {
        tracing::warn!(%err, "could not note Litestream's pid");
    }
}

/// Forgets the pid after the child stopped.
pub(super) fn forget(config: &Path) {
    let _ = std::fs::remove_file(pid_file(config));
}

/// Stops a Litestream a previous server left running for `config`, waiting up to
/// `patience` for it to ship what it holds, then killing it.
pub(super) async fn stop(config: &Path, patience: Duration) {
    let Some(pid) = std::fs::read_to_string(pid_file(config))
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
    else {
        return;
    };
    if !is_ours(pid, config) {
        forget(config);
        return;
    }
    tracing::warn!(
        pid,
        "stopping a Litestream left running by a previous server on this database"
    );
    signal(pid, false);
    let deadline = tokio::time::Instant::now() + patience;
    while is_ours(pid, config) {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(pid, "the leftover Litestream did not stop; killing it");
            signal(pid, true);
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    forget(config);
}

/// Whether `pid` is a live process whose command line names `config` (a process that
/// has exited, even if not reaped yet, has an empty one).
fn is_ours(pid: u32, config: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let config = config.as_os_str().as_encoded_bytes();
    cmdline.split(|b| *b == 0).any(|arg| arg == config)
}

#[cfg(unix)]
fn signal(pid: u32, kill: bool) {
    use rustix::process::{Pid, Signal, kill_process};
    let signal = if kill { Signal::KILL } else { Signal::TERM };
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, signal);
    }
}

#[cfg(not(unix))]
fn signal(_pid: u32, _kill: bool) {}
