//! CPU time and peak memory of a child process, read from `/proc`.
//!
//! The benchmark's figures: CPU-seconds are `utime + stime` from `/proc/<pid>/stat`, in clock
//! ticks converted with `CLK_TCK` (asked of `getconf`, since calling `sysconf(3)` would need
//! `unsafe`, which the workspace forbids; 100, the Linux value on every common architecture,
//! if `getconf` is unavailable). Peak RSS is `VmHWM` from `/proc/<pid>/status`, the kernel's
//! own high-water mark, so no sampling can miss a short spike.

use std::process::Command;
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};

/// A snapshot of one process's resource use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcStats {
    /// User plus system CPU time since the process started.
    pub cpu_seconds: f64,
    /// Resident set size now.
    pub rss_bytes: u64,
    /// Highest resident set size so far (`VmHWM`).
    pub peak_rss_bytes: u64,
}

/// Reads the stats of the live process `pid`.
pub fn read_proc_stats(pid: u32) -> Result<ProcStats> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let ticks = cpu_ticks(&stat)?;
    Ok(ProcStats {
        cpu_seconds: ticks as f64 / clock_ticks_per_second() as f64,
        rss_bytes: status_kib(&status, "VmRSS")? * 1024,
        peak_rss_bytes: status_kib(&status, "VmHWM")? * 1024,
    })
}

/// `CLK_TCK`, the unit of the times in `/proc/<pid>/stat`.
pub fn clock_ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// `utime + stime` (fields 14 and 15) of a stat line. The command name (field 2) is in
/// parentheses and may contain spaces, so fields are counted after the last `)`.
fn cpu_ticks(stat: &str) -> Result<u64> {
    let after_comm = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .context("no ')' in /proc stat")?;
    // After the command name, field 3 (state) is at index 0, so field n is at index n - 3.
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let field = |n: usize| -> Result<u64> {
        fields
            .get(n - 3)
            .with_context(|| format!("/proc stat has no field {n}"))?
            .parse()
            .with_context(|| format!("/proc stat field {n}"))
    };
    Ok(field(14)? + field(15)?)
}

/// The value in KiB of a `Key:   1234 kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, key: &str) -> Result<u64> {
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            let number = rest.split_whitespace().next().unwrap_or_default();
            return number
                .parse()
                .with_context(|| format!("{key} value {rest:?}"));
        }
    }
    bail!("/proc status has no {key} line")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_utime_and_stime_after_a_command_with_spaces() {
        let stat = "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 500 0 0 0 1234 56 0 0 20 0 8 0 100 0 0";
        assert_eq!(cpu_ticks(stat).unwrap(), 1234 + 56);
    }

    #[test]
    fn reads_kib_fields() {
        let status = "Name:\tvmagent\nVmHWM:\t   70656 kB\nVmRSS:\t   65536 kB\n";
        assert_eq!(status_kib(status, "VmHWM").unwrap(), 70656);
        assert_eq!(status_kib(status, "VmRSS").unwrap(), 65536);
        assert!(status_kib(status, "VmSwap").is_err());
    }

    #[test]
    fn measures_this_process() {
        // Burn CPU until at least one clock tick is accounted, bounded in wall time.
        let start = std::time::Instant::now();
        let mut acc = 0u64;
        let stats = loop {
            acc = (0..1_000_000u64).fold(acc, |a, b| a.wrapping_add(b * b));
            let stats = read_proc_stats(std::process::id()).unwrap();
            if stats.cpu_seconds > 0.0 || start.elapsed().as_secs() > 10 {
                break stats;
            }
        };
        assert_ne!(acc, 1);
        assert!(stats.cpu_seconds > 0.0, "{stats:?}");
        assert!(
            stats.peak_rss_bytes >= stats.rss_bytes && stats.rss_bytes > 0,
            "{stats:?}"
        );
        assert!((1..=10_000).contains(&clock_ticks_per_second()));
    }
}
