//! The process's resident memory, for the benchmarks that report it (`#[path]`).

/// `VmRSS` from `/proc/self/status`, in kB (0 where there is no `/proc`).
pub fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}
