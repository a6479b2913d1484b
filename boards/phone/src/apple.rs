//! Apple (iOS, macOS): performance cores from `sysctl hw.perflevel0.*`.
//!
//! Apple silicon lists its core types as performance levels, fastest first:
//! `hw.nperflevels` levels, `hw.perflevel0.physicalcpu` performance (P) cores. Older chips
//! without the keys (Intel Macs, A-series before iOS 15's kernel) are read as
//! `hw.physicalcpu`, all one kind. Apple has no thread-to-core pinning (the scheduler puts
//! busy threads on P cores), so the workers are counted, not pinned.

/// Performance cores, or `None` when sysctl answers nothing usable.
pub fn performance_cores() -> Option<usize> {
    read("hw.perflevel0.physicalcpu").or_else(|| read("hw.physicalcpu"))
}

fn read(name: &str) -> Option<usize> {
    use sysctl::Sysctl;
    let v = sysctl::Ctl::new(name).ok()?.value().ok()?;
    let n: i64 = match v {
        sysctl::CtlValue::Int(i) => i64::from(i),
        sysctl::CtlValue::Uint(u) => i64::from(u),
        sysctl::CtlValue::Long(l) => l,
        sysctl::CtlValue::Ulong(u) => i64::try_from(u).ok()?,
        sysctl::CtlValue::S64(i) => i,
        sysctl::CtlValue::U64(u) => i64::try_from(u).ok()?,
        _ => return None,
    };
    usize::try_from(n).ok().filter(|&n| n > 0)
}
