//! A peer or agent running as a child process, owned by a test.
//!
//! Each process writes stdout and stderr to one log file in the test's temporary directory. The
//! process is killed when its handle is dropped, so a failing test leaves nothing running, and
//! when the drop happens during a panic the tail of the log is printed: the test's failure
//! message then shows what the peer said. A process can be stopped (SIGTERM, bounded wait, then
//! SIGKILL), killed with SIGKILL, and started again with the same arguments, which is what the
//! outage tests need.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::wait::wait_until;

/// How much of a log is shown when a test fails.
const LOG_TAIL_BYTES: u64 = 8 * 1024;

/// A child process with its command line and log file.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    log_path: PathBuf,
    child: Option<Child>,
}

impl ChildProcess {
    /// Starts `program args...`, appending its output to `log_path`.
    pub fn spawn(name: &str, program: &Path, args: Vec<String>, log_path: PathBuf) -> Result<Self> {
        let mut process = Self {
            name: name.to_owned(),
            program: program.to_owned(),
            args,
            log_path,
            child: None,
        };
        process.start()?;
        Ok(process)
    }

    fn start(&mut self) -> Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("opening log {}", self.log_path.display()))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} ({})", self.name, self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Starts the process again with the same arguments and log file (after a stop or kill).
    pub fn restart(&mut self) -> Result<()> {
        if self.is_running() {
            bail!("{} is still running; stop it before restarting", self.name);
        }
        self.start()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operating-system pid, while the process runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still alive (reaping it if it exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            None => false,
            Some(child) => match child.try_wait() {
                Ok(None) => true,
                Ok(Some(_)) | Err(_) => {
                    self.child = None;
                    false
                }
            },
        }
    }

    /// Fails with the log tail if the process has exited: readiness probes call this so a peer
    /// that died at startup is reported at once instead of after the probe's timeout.
    pub fn ensure_running(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        bail!(
            "{} exited unexpectedly; last lines of {}:\n{}",
            self.name,
            self.log_path.display(),
            self.log_tail()
        )
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill9(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child
                .kill()
                .with_context(|| format!("killing {}", self.name))?;
            child
                .wait()
                .with_context(|| format!("reaping {}", self.name))?;
        }
        Ok(())
    }

    /// Sends SIGTERM and waits up to `timeout` for a clean exit, then falls back to SIGKILL.
    ///
    /// The signal is sent with the `kill` utility because the workspace forbids `unsafe`, and a
    /// direct `kill(2)` call needs it.
    pub async fn terminate(&mut self, timeout: Duration) -> Result<()> {
        let Some(pid) = self.pid() else {
            return Ok(());
        };
        let status = Command::new("kill")
            .args(["-s", "TERM", &pid.to_string()])
            .status()
            .context("running kill -s TERM")?;
        if !status.success() && self.is_running() {
            bail!("kill -s TERM {pid} failed for {}", self.name);
        }
        let what = format!("{} to exit after SIGTERM", self.name);
        if wait_until(&what, timeout, || {
            let running = self.is_running();
            async move { Ok((!running).then_some(())) }
        })
        .await
        .is_err()
        {
            eprintln!(
                "{} ignored SIGTERM for {timeout:?}; sending SIGKILL",
                self.name
            );
            self.kill9()?;
        }
        Ok(())
    }

    /// The last few KiB of the log file.
    pub fn log_tail(&self) -> String {
        read_tail(&self.log_path, LOG_TAIL_BYTES)
            .unwrap_or_else(|e| format!("(log unreadable: {e})"))
    }

    /// The whole log file (for tests that look for a logged event).
    pub fn log_text(&self) -> Result<String> {
        let mut text = String::new();
        File::open(&self.log_path)?.read_to_string(&mut text)?;
        Ok(text)
    }
}

fn read_tail(path: &Path, max: u64) -> Result<String> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(max)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "----- {} log tail ({}) -----\n{}\n----- end of {} log -----",
                self.name,
                self.log_path.display(),
                self.log_tail(),
                self.name
            );
        }
        if let Err(e) = self.kill9() {
            eprintln!("{e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, script: &str) -> ChildProcess {
        ChildProcess::spawn(
            "sh",
            Path::new("/bin/sh"),
            vec!["-c".into(), script.into()],
            dir.join("sh.log"),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn captures_output_and_reports_an_early_exit() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sh(dir.path(), "echo hello-from-child; exit 3");
        wait_until("exit", Duration::from_secs(10), || {
            let running = p.is_running();
            async move { Ok((!running).then_some(())) }
        })
        .await
        .unwrap();
        let err = p.ensure_running().unwrap_err().to_string();
        assert!(err.contains("hello-from-child"), "{err}");
    }

    async fn wait_for_lines(p: &ChildProcess, text: &str, count: usize) {
        wait_until(
            &format!("{count} x {text}"),
            Duration::from_secs(10),
            || {
                let log = p.log_text();
                async move {
                    Ok(log
                        .ok()
                        .filter(|t| t.matches(text).count() == count)
                        .map(drop))
                }
            },
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn terminate_stops_and_restart_appends_to_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sh(dir.path(), "echo started; exec sleep 600");
        wait_for_lines(&p, "started", 1).await;
        p.terminate(Duration::from_secs(10)).await.unwrap();
        assert!(!p.is_running());
        p.restart().unwrap();
        wait_for_lines(&p, "started", 2).await;
        assert!(p.is_running());
        p.kill9().unwrap();
        assert!(!p.is_running());
    }
}
