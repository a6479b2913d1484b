//! CPU topology from Linux sysfs (`/sys/devices/system/cpu`, or any directory laid out the
//! same way, such as a test's fake tree).
//!
//! Read per online CPU `N` (every file but `online` is optional, as kernels differ):
//!
//! | file | meaning |
//! |---|---|
//! | `online` | the online CPUs, a list such as `0-3,6` (without it, every `cpuN` directory) |
//! | `cpuN/cpu_capacity` | the scheduler's capacity, 1024 for the fastest core (arm64: the device tree's `capacity-dmips-mhz` × the core's highest frequency, normalized) |
//! | `cpuN/cpufreq/cpuinfo_max_freq` | the highest frequency, kHz |
//! | `cpuN/topology/cluster_id` | cluster (-1 or 65535: unknown; one DynamIQ cluster holds every core on recent SoCs) |
//! | `cpuN/topology/physical_package_id` | package (on older arm64 kernels, the cluster) |
//! | `cpuN/topology/thread_siblings_list` | the SMT siblings of the core (hyper-threads) |

use std::fmt;
use std::path::{Path, PathBuf};

/// Where Linux exposes the CPUs.
pub const DEFAULT_SYSFS_CPU: &str = "/sys/devices/system/cpu";

/// Most CPU ids a list may name (the kernel's largest `NR_CPUS`): a corrupt or hostile
/// `0-4294967295` is an error, never a loop of that length.
pub const MAX_CPUS: usize = 8192;

/// One online CPU (a logical CPU: an SMT thread where the core has several).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cpu {
    /// The kernel's CPU number (`cpuN`).
    pub id: usize,
    /// `cpu_capacity`: 1..=1024, 1024 for the fastest core. `None` where absent.
    pub capacity: Option<u32>,
    /// `cpufreq/cpuinfo_max_freq`, kHz. `None` where absent.
    pub max_freq_khz: Option<u32>,
    /// `topology/cluster_id`; `None` where absent or unknown (-1, 65535).
    pub cluster_id: Option<u32>,
    /// `topology/physical_package_id`; `None` where absent or unknown.
    pub package_id: Option<u32>,
    /// The lowest CPU of `topology/thread_siblings_list` (this CPU's own id without SMT).
    /// A CPU whose first sibling is another CPU is a second hyper-thread of a core.
    pub first_sibling: Option<usize>,
}

impl Cpu {
    /// True for the second (third…) hyper-thread of a core that another CPU already stands for.
    pub fn is_smt_secondary(&self) -> bool {
        self.first_sibling.is_some_and(|f| f < self.id)
    }
}

/// The online CPUs of a machine, by ascending id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    /// Online CPUs, ascending `id`.
    pub cpus: Vec<Cpu>,
}

/// Why a topology could not be read.
#[derive(Debug)]
pub struct TopologyError {
    /// The file or directory concerned.
    pub path: PathBuf,
    /// What went wrong with it.
    pub kind: TopologyErrorKind,
}

/// What went wrong, see [`TopologyError`].
#[derive(Debug)]
pub enum TopologyErrorKind {
    /// It could not be read.
    Io(std::io::Error),
    /// Its content is not what the kernel writes there (the text, cut to 64 bytes).
    Malformed(String),
    /// A CPU list names an id of [`MAX_CPUS`] or more.
    TooManyCpus(usize),
    /// No online CPU was found.
    NoCpus,
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.kind {
            TopologyErrorKind::Io(e) => write!(f, "{p}: {e}"),
            TopologyErrorKind::Malformed(s) => write!(f, "{p}: unexpected content {s:?}"),
            TopologyErrorKind::TooManyCpus(n) => {
                write!(f, "{p}: CPU id {n} is past the limit of {MAX_CPUS}")
            }
            TopologyErrorKind::NoCpus => write!(f, "{p}: no online CPU"),
        }
    }
}

impl std::error::Error for TopologyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            TopologyErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

fn err(path: &Path, kind: TopologyErrorKind) -> TopologyError {
    TopologyError {
        path: path.to_path_buf(),
        kind,
    }
}

fn malformed(path: &Path, text: &str) -> TopologyError {
    let mut t: String = text.trim().chars().take(64).collect();
    if text.trim().chars().count() > 64 {
        t.push('…');
    }
    err(path, TopologyErrorKind::Malformed(t))
}

/// Parses a kernel CPU list (`0-3,6,8-9`; empty or a lone newline is the empty list) into
/// ascending, distinct ids. Errors: malformed text, a reversed range, an id ≥ [`MAX_CPUS`].
pub fn parse_cpu_list(text: &str, path: &Path) -> Result<Vec<usize>, TopologyError> {
    let mut ids = Vec::new();
    let mut seen: Vec<bool> = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let num = |s: &str| -> Result<usize, TopologyError> {
            let n: usize = s.trim().parse().map_err(|_| malformed(path, text))?;
            if n >= MAX_CPUS {
                return Err(err(path, TopologyErrorKind::TooManyCpus(n)));
            }
            Ok(n)
        };
        let (a, b) = (num(a)?, num(b)?);
        if a > b {
            return Err(malformed(path, text));
        }
        if seen.len() <= b {
            seen.resize(b + 1, false);
        }
        for id in a..=b {
            if !seen[id] {
                seen[id] = true;
                ids.push(id);
            }
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// The trimmed text of `path`, `None` if it does not exist.
fn read_opt(path: &Path) -> Result<Option<String>, TopologyError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(path, TopologyErrorKind::Io(e))),
    }
}

/// A number file; `None` if absent. Negative values (`-1`: unknown) and 65535 (the u16 -1
/// some kernels print for `cluster_id`) are `None` too when `unknown_ok`.
fn read_u32(path: &Path, unknown_ok: bool) -> Result<Option<u32>, TopologyError> {
    let Some(text) = read_opt(path)? else {
        return Ok(None);
    };
    let t = text.trim();
    if unknown_ok && (t == "-1" || t == "65535" || t == "4294967295") {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| malformed(path, &text))
}

impl Topology {
    /// Reads the online CPUs under `root` (a directory laid out as
    /// [`DEFAULT_SYSFS_CPU`]). Errors: `root` unreadable, malformed files, no CPU.
    pub fn from_sysfs(root: &Path) -> Result<Topology, TopologyError> {
        let online_path = root.join("online");
        let ids = match read_opt(&online_path)? {
            Some(text) => parse_cpu_list(&text, &online_path)?,
            None => cpu_dirs(root)?,
        };
        if ids.is_empty() {
            return Err(err(root, TopologyErrorKind::NoCpus));
        }
        let mut cpus = Vec::with_capacity(ids.len());
        for id in ids {
            let dir = root.join(format!("cpu{id}"));
            let capacity = read_u32(&dir.join("cpu_capacity"), false)?;
            let max_freq_khz = read_u32(&dir.join("cpufreq/cpuinfo_max_freq"), false)?;
            let cluster_id = read_u32(&dir.join("topology/cluster_id"), true)?;
            let package_id = read_u32(&dir.join("topology/physical_package_id"), true)?;
            let sib_path = dir.join("topology/thread_siblings_list");
            let first_sibling = match read_opt(&sib_path)? {
                Some(t) => parse_cpu_list(&t, &sib_path)?.first().copied(),
                None => None,
            };
            cpus.push(Cpu {
                id,
                capacity: capacity.filter(|&c| c > 0),
                max_freq_khz: max_freq_khz.filter(|&f| f > 0),
                cluster_id,
                package_id,
                first_sibling,
            });
        }
        Ok(Topology { cpus })
    }
}

/// The `cpuN` directories under `root`, ascending (when `online` is missing).
fn cpu_dirs(root: &Path) -> Result<Vec<usize>, TopologyError> {
    let rd = std::fs::read_dir(root).map_err(|e| err(root, TopologyErrorKind::Io(e)))?;
    let mut ids = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| err(root, TopologyErrorKind::Io(e)))?;
        let name = entry.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_prefix("cpu"))
            .and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        if n >= MAX_CPUS {
            return Err(err(&entry.path(), TopologyErrorKind::TooManyCpus(n)));
        }
        ids.push(n);
    }
    ids.sort_unstable();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> Result<Vec<usize>, TopologyError> {
        parse_cpu_list(s, Path::new("online"))
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(list("0-3,6\n").unwrap(), [0, 1, 2, 3, 6]);
        assert_eq!(list("7,0-1").unwrap(), [0, 1, 7]);
        assert_eq!(list("2,2,1-2").unwrap(), [1, 2]);
        assert_eq!(list("\n").unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn bad_cpu_lists_are_errors() {
        for bad in ["a", "3-1", "0-", "1--2", "0-3;4"] {
            let e = list(bad).unwrap_err();
            assert!(
                matches!(e.kind, TopologyErrorKind::Malformed(_)),
                "{bad}: {e}"
            );
        }
        let e = list("0-4294967295").unwrap_err();
        assert!(matches!(e.kind, TopologyErrorKind::TooManyCpus(4294967295)));
        assert!(e.to_string().contains("past the limit"), "{e}");
    }
}
