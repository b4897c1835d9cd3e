//! Where and when the figures were taken: CPU, cores, memory, OS, date and
//! commit.

use crate::server::repo_root;

#[derive(Debug, Clone)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gb: f64,
    pub os: String,
    pub date: String,
    pub commit: String,
    /// The 1-minute load average when the run began.
    pub load_at_start: String,
}

impl Machine {
    pub fn describe(load_at_start: String) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(
                || "unknown CPU".to_owned(),
                |(_, name)| name.trim().to_owned(),
            );
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let memory_gb = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|meminfo| {
                meminfo
                    .lines()
                    .find_map(|line| line.strip_prefix("MemTotal:"))
                    .and_then(|rest| {
                        rest.trim()
                            .trim_end_matches("kB")
                            .trim()
                            .parse::<u64>()
                            .ok()
                    })
            })
            .map_or(0.0, |kib| kib as f64 * 1024.0 / 1e9);
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let distribution = os_release
            .lines()
            .find_map(|line| line.strip_prefix("PRETTY_NAME="))
            .map_or_else(
                || "Linux".to_owned(),
                |name| name.trim_matches('"').to_owned(),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let os = format!("{distribution}, kernel {}", kernel.trim());
        let date = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .unwrap_or_default();
        Self {
            cpu,
            cores,
            memory_gb,
            os,
            date,
            commit: commit(),
            load_at_start,
        }
    }
}

/// `git rev-parse --short HEAD`, with `-dirty` when tracked files differ.
fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(repo_root())
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".into();
    };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    if dirty { format!("{head}-dirty") } else { head }
}

/// The 1-minute load average, as `/proc/loadavg` gives it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// CPU time of the whole machine and of this run's own processes (this
/// bench with every child it has reaped: servers, operator commands; and
/// every `postgres` process), so the time other processes took during a
/// measurement can be told.
#[derive(Debug, Clone, Copy)]
pub struct CpuSnapshot {
    at: std::time::Instant,
    /// Busy clock ticks of all CPUs (`/proc/stat`).
    busy: u64,
    /// Clock ticks of this run's processes.
    ours: u64,
}

/// Clock ticks per second of `/proc` times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

impl CpuSnapshot {
    pub fn take() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal
        let busy = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| cpu.get(i)).sum();
        let mut ours = process_ticks("self").unwrap_or_default();
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "postgres" {
                ours += process_ticks(pid).unwrap_or_default();
            }
        }
        Some(Self {
            at: std::time::Instant::now(),
            busy,
            ours,
        })
    }

    /// Cores other processes kept busy on average since `earlier`.
    pub fn foreign_cores_since(&self, earlier: &Self) -> f64 {
        let wall = self.at.duration_since(earlier.at).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        let busy = self.busy.saturating_sub(earlier.busy);
        let ours = self.ours.saturating_sub(earlier.ours);
        (busy.saturating_sub(ours) as f64 / TICKS_PER_SECOND / wall).max(0.0)
    }
}

/// utime + stime + cutime + cstime of `/proc/<pid>/stat`.
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields start after its `)`.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    (11..=14)
        .map(|i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum()
}
