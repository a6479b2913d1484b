//! The phone's worker pool: the core's [`ThreadPool`] with each worker pinned to one
//! performance core, and a live limit on how many of them split the work (the thermal
//! back-off's "drop a thread").

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bague::parallel::{PairTask, Parallel, PoolError, ThreadPool};

/// How many workers split each matrix, shared between a [`PhonePool`] and whoever throttles
/// it. Clone it freely; all clones are the same limit.
#[derive(Clone, Debug)]
pub struct ThreadLimit {
    active: Arc<AtomicUsize>,
    max: usize,
}

impl ThreadLimit {
    /// Workers in use now.
    pub fn get(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Uses `n` workers from the next matrix on, clamped to 1..=the pool's size. The
    /// logits do not change: rows are split per thread, never the order of a sum.
    pub fn set(&self, n: usize) {
        self.active.store(n.clamp(1, self.max), Ordering::Relaxed);
    }

    /// The pool's size.
    pub fn max(&self) -> usize {
        self.max
    }
}

/// A pool of `cores.len()` workers, worker `i` pinned to CPU `cores[i]` where the system
/// allows it (Linux and Android; elsewhere unpinned), whose [`Parallel::n_threads`] is the
/// live [`ThreadLimit`]. A dropped worker idles: rayon's workers sleep when no work comes.
pub struct PhonePool {
    inner: ThreadPool,
    limit: ThreadLimit,
    pinned: Arc<AtomicUsize>,
}

impl std::fmt::Debug for PhonePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhonePool")
            .field("threads", &self.limit.max)
            .field("active", &self.limit.get())
            .finish()
    }
}

impl PhonePool {
    /// Starts one worker per entry of `cores` (CPU numbers), pinned to it when `pin`.
    /// Errors: `cores` empty ([`PoolError::ZeroThreads`]), threads refused.
    pub fn new(cores: &[usize], pin: bool) -> Result<Self, PoolError> {
        let n = cores.len();
        let pinned = Arc::new(AtomicUsize::new(0));
        let inner = if pin {
            let cores: Vec<usize> = cores.to_vec();
            let count = Arc::clone(&pinned);
            ThreadPool::with_start_handler(n, move |i| {
                let id = cores[i % cores.len()];
                if core_affinity::set_for_current(core_affinity::CoreId { id }) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })?
        } else {
            ThreadPool::new(n)?
        };
        Ok(PhonePool {
            inner,
            limit: ThreadLimit {
                active: Arc::new(AtomicUsize::new(n)),
                max: n,
            },
            pinned,
        })
    }

    /// The handle that lowers or restores the workers in use.
    pub fn limit(&self) -> ThreadLimit {
        self.limit.clone()
    }

    /// Workers the system pinned so far (each pins itself as it starts; all have started
    /// once the pool has run work on each of them).
    pub fn pinned(&self) -> usize {
        self.pinned.load(Ordering::Relaxed)
    }
}

impl Parallel for PhonePool {
    fn n_threads(&self) -> usize {
        self.limit.get()
    }

    fn install(&self, f: &mut (dyn FnMut() + Send)) {
        self.inner.install(f)
    }

    fn for_each_chunk(
        &self,
        data: &mut [f32],
        chunk_len: usize,
        f: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) {
        self.inner.for_each_chunk(data, chunk_len, f)
    }

    fn for_each_chunk_pair(
        &self,
        a: &mut [f32],
        a_chunk: usize,
        b: &mut [f32],
        b_chunk: usize,
        f: &PairTask<'_>,
    ) {
        self.inner.for_each_chunk_pair(a, a_chunk, b, b_chunk, f)
    }
}
