//! Splitting work across threads: the [`Parallel`] trait, a [`Sequential`] implementation
//! for `no_std` and single-core hosts, and a persistent [`ThreadPool`] under `std`.
//!
//! Work is always split by **output rows** (contiguous chunks of an output buffer), never by
//! reduction order: every output value is computed by the same code on the same inputs
//! whatever the thread count, so logits are bit-identical for 1, 2 or 16 threads.
//!
//! Why the interface hands out `&mut` chunks instead of task indices: `bague` core has no
//! `unsafe`, so a task cannot write into a shared output buffer by index. Giving each task
//! its own disjoint `&mut [f32]` (as `chunks_mut` does) keeps the forward pass safe.
//!
//! Why `rayon` under `std`: a pool whose workers persist across calls (no thread spawned
//! per matrix multiply) and which runs closures that borrow the caller's stack (the weights,
//! the activations) behind a safe API. A hand-written pool with a spin barrier, as ggml
//! uses, would need `unsafe` lifetime erasure to pass borrowed closures to long-lived
//! threads, which this crate forbids. The session runs a whole forward pass inside
//! [`Parallel::install`], so the calling code is itself a pool worker and the row splits
//! that follow are plain fork-joins inside the pool.

use core::fmt;

/// A task over one chunk of an output buffer and one chunk of scratch space.
pub type PairTask<'f> = dyn Fn(usize, &mut [f32], &mut [f32]) + Sync + 'f;

/// Runs chunks of work, possibly concurrently. Implementations must call `f` exactly once
/// per chunk and return only when every call has returned.
pub trait Parallel: Sync {
    /// Threads that may run chunks at the same time (1 for [`Sequential`]).
    fn n_threads(&self) -> usize;

    /// Runs `f` on this implementation's threads (a pool worker for [`ThreadPool`]), so
    /// that the `for_each_*` calls made inside it do not cross threads on entry.
    fn install(&self, f: &mut (dyn FnMut() + Send));

    /// Splits `data` into chunks of `chunk_len` elements (the last one may be shorter) and
    /// calls `f(index, chunk)` for each. `chunk_len` 0 is treated as 1.
    fn for_each_chunk(
        &self,
        data: &mut [f32],
        chunk_len: usize,
        f: &(dyn Fn(usize, &mut [f32]) + Sync),
    );

    /// Like [`for_each_chunk`](Parallel::for_each_chunk) over two buffers in lockstep:
    /// chunk `i` of `a` (length `a_chunk`) goes with chunk `i` of `b` (length `b_chunk`);
    /// there are as many calls as the smaller chunk count. Used to give each task its own
    /// scratch space next to its output rows.
    fn for_each_chunk_pair(
        &self,
        a: &mut [f32],
        a_chunk: usize,
        b: &mut [f32],
        b_chunk: usize,
        f: &PairTask<'_>,
    );
}

/// Runs every chunk in order on the calling thread. Works everywhere (`no_std`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Sequential;

impl Parallel for Sequential {
    fn n_threads(&self) -> usize {
        1
    }

    fn install(&self, f: &mut (dyn FnMut() + Send)) {
        f()
    }

    fn for_each_chunk(
        &self,
        data: &mut [f32],
        chunk_len: usize,
        f: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) {
        for (i, c) in data.chunks_mut(chunk_len.max(1)).enumerate() {
            f(i, c);
        }
    }

    fn for_each_chunk_pair(
        &self,
        a: &mut [f32],
        a_chunk: usize,
        b: &mut [f32],
        b_chunk: usize,
        f: &PairTask<'_>,
    ) {
        let pairs = a
            .chunks_mut(a_chunk.max(1))
            .zip(b.chunks_mut(b_chunk.max(1)));
        for (i, (x, y)) in pairs.enumerate() {
            f(i, x, y);
        }
    }
}

/// Why a thread pool could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// A thread count of 0 was asked for.
    ZeroThreads,
    /// The operating system refused to start the worker threads.
    Spawn,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::ZeroThreads => f.write_str("thread count must be at least 1, got 0"),
            PoolError::Spawn => f.write_str("could not start the worker threads"),
        }
    }
}

impl core::error::Error for PoolError {}

/// A persistent pool of worker threads (std only), built on `rayon`.
///
/// Dropping it returns once its workers have exited (rayon's own pool only signals them):
/// a session freed through the C ABI leaves no thread of its own behind.
#[cfg(feature = "std")]
pub struct ThreadPool {
    /// Always `Some` until [`Drop`] takes it (to drop it before joining the workers).
    pool: Option<rayon::ThreadPool>,
    /// The workers, joined on drop.
    workers: Vec<std::thread::JoinHandle<()>>,
    n_threads: usize,
}

#[cfg(feature = "std")]
impl ThreadPool {
    /// Starts `n_threads` workers. Errors: [`PoolError::ZeroThreads`], [`PoolError::Spawn`].
    pub fn new(n_threads: usize) -> Result<Self, PoolError> {
        Self::with_start_handler(n_threads, |_| {})
    }

    /// Starts `n_threads` workers and runs `on_start(i)` on worker `i` (0-based) as it
    /// starts, before it takes any work: the hook a board uses to pin its workers to
    /// chosen cores or set their priority. A failure inside `on_start` is the hook's to
    /// report; the worker runs either way. Errors: as [`ThreadPool::new`].
    pub fn with_start_handler(
        n_threads: usize,
        on_start: impl Fn(usize) + Send + Sync + 'static,
    ) -> Result<Self, PoolError> {
        if n_threads == 0 {
            return Err(PoolError::ZeroThreads);
        }
        let mut workers = Vec::new();
        workers
            .try_reserve_exact(n_threads)
            .map_err(|_| PoolError::Spawn)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n_threads)
            .thread_name(|i| std::format!("bague-{i}"))
            .start_handler(on_start)
            .spawn_handler(|thread| {
                let mut b = std::thread::Builder::new();
                if let Some(name) = thread.name() {
                    b = b.name(name.into());
                }
                workers.push(b.spawn(|| thread.run())?);
                Ok(())
            })
            .build();
        let pool = match pool {
            Ok(pool) => pool,
            Err(_) => {
                // rayon stops the workers it started; wait for them as Drop would.
                for w in workers {
                    let _ = w.join();
                }
                return Err(PoolError::Spawn);
            }
        };
        Ok(ThreadPool {
            pool: Some(pool),
            workers,
            n_threads,
        })
    }

    fn pool(&self) -> &rayon::ThreadPool {
        // Some from construction until drop.
        self.pool.as_ref().expect("ThreadPool used after drop")
    }
}

#[cfg(feature = "std")]
impl Drop for ThreadPool {
    fn drop(&mut self) {
        // Dropping rayon's pool tells its workers to exit once idle; then wait for them, so
        // that their thread-local storage is gone when the owner (a session) is.
        drop(self.pool.take());
        for w in self.workers.drain(..) {
            // A worker that panicked has nothing left to clean up.
            let _ = w.join();
        }
    }
}

#[cfg(feature = "std")]
impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("n_threads", &self.n_threads)
            .finish()
    }
}

#[cfg(feature = "std")]
impl Parallel for ThreadPool {
    fn n_threads(&self) -> usize {
        self.n_threads
    }

    fn install(&self, f: &mut (dyn FnMut() + Send)) {
        self.pool().install(f)
    }

    fn for_each_chunk(
        &self,
        data: &mut [f32],
        chunk_len: usize,
        f: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) {
        use rayon::prelude::*;
        let chunk_len = chunk_len.max(1);
        if data.len() <= chunk_len {
            // One chunk: no fork-join round trip.
            return f(0, data);
        }
        self.pool().install(|| {
            data.par_chunks_mut(chunk_len)
                .enumerate()
                .for_each(|(i, c)| f(i, c))
        });
    }

    fn for_each_chunk_pair(
        &self,
        a: &mut [f32],
        a_chunk: usize,
        b: &mut [f32],
        b_chunk: usize,
        f: &PairTask<'_>,
    ) {
        use rayon::prelude::*;
        let (a_chunk, b_chunk) = (a_chunk.max(1), b_chunk.max(1));
        if a.len() <= a_chunk || b.len() <= b_chunk {
            if let (Some(x), Some(y)) = (a.chunks_mut(a_chunk).next(), b.chunks_mut(b_chunk).next())
            {
                f(0, x, y);
            }
            return;
        }
        self.pool().install(|| {
            a.par_chunks_mut(a_chunk)
                .zip(b.par_chunks_mut(b_chunk))
                .enumerate()
                .for_each(|(i, (x, y))| f(i, x, y))
        });
    }
}

/// Rows per chunk when `n_rows` are split for `n_threads`: about one chunk per thread,
/// rounded up to a multiple of `align` (kernels that work on groups of rows keep their
/// groups whole). Never 0.
pub fn rows_per_chunk(n_rows: usize, n_threads: usize, align: usize) -> usize {
    let align = align.max(1);
    let per = n_rows.div_ceil(n_threads.max(1)).max(1);
    per.div_ceil(align) * align
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Dropping a pool returns after its workers have exited, thread-local destructors
    /// included (rayon's pool alone only signals them): a freed session leaves no thread.
    #[cfg(feature = "std")]
    #[test]
    fn drop_waits_for_the_workers() {
        use core::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        struct Exit(Arc<AtomicUsize>);
        impl Drop for Exit {
            fn drop(&mut self) {
                // Let the dropping thread get ahead if it does not wait.
                std::thread::sleep(std::time::Duration::from_millis(20));
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        std::thread_local! {
            static GUARD: core::cell::RefCell<Option<Exit>> = const { core::cell::RefCell::new(None) };
        }
        for n in [1, 3] {
            let exited = Arc::new(AtomicUsize::new(0));
            let e = exited.clone();
            let pool = ThreadPool::with_start_handler(n, move |_| {
                GUARD.with(|g| *g.borrow_mut() = Some(Exit(e.clone())));
            })
            .unwrap();
            let mut v = vec![0f32; 64];
            pool.for_each_chunk(&mut v, 8, &|_, c| c.fill(1.0));
            drop(pool);
            assert_eq!(exited.load(Ordering::SeqCst), n, "{n} workers");
        }
    }

    fn fill(p: &dyn Parallel) -> alloc::vec::Vec<f32> {
        let mut v = vec![0f32; 103];
        p.for_each_chunk(&mut v, 10, &|i, c| {
            for (j, x) in c.iter_mut().enumerate() {
                *x = (i * 10 + j) as f32;
            }
        });
        v
    }

    #[test]
    fn sequential_covers_every_element_once() {
        let v = fill(&Sequential);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as f32));
    }

    #[cfg(feature = "std")]
    #[test]
    fn pool_matches_sequential() {
        let p = ThreadPool::new(3).unwrap();
        assert_eq!(fill(&p), fill(&Sequential));
        let mut a = vec![0f32; 40];
        let mut b = vec![0f32; 12];
        p.for_each_chunk_pair(&mut a, 10, &mut b, 3, &|i, x, y| {
            x.fill(i as f32);
            y.fill(-(i as f32));
        });
        assert_eq!(a[35], 3.0);
        assert_eq!(b[11], -3.0);
    }

    #[cfg(feature = "std")]
    #[test]
    fn start_handler_runs_once_on_each_worker() {
        use std::sync::{Arc, Mutex};
        let seen = Arc::new(Mutex::new(alloc::vec::Vec::new()));
        let s = Arc::clone(&seen);
        let p = ThreadPool::with_start_handler(3, move |i| {
            let name = std::thread::current().name().map(std::string::String::from);
            s.lock().unwrap().push((i, name));
        })
        .unwrap();
        // Every worker has started once the pool ran a task on each of them.
        assert_eq!(fill(&p), fill(&Sequential));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while seen.lock().unwrap().len() < 3 && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        let want: alloc::vec::Vec<_> = (0..3)
            .map(|i| (i, Some(std::format!("bague-{i}"))))
            .collect();
        assert_eq!(seen, want);
        assert_eq!(
            ThreadPool::with_start_handler(0, |_| {}).unwrap_err(),
            PoolError::ZeroThreads
        );
    }

    #[cfg(feature = "std")]
    #[test]
    fn zero_threads_is_an_error() {
        assert_eq!(ThreadPool::new(0).unwrap_err(), PoolError::ZeroThreads);
    }

    #[test]
    fn chunking() {
        assert_eq!(rows_per_chunk(100, 2, 1), 50);
        assert_eq!(rows_per_chunk(101, 2, 4), 52);
        assert_eq!(rows_per_chunk(0, 4, 1), 1);
    }
}
