//! The only heap of a board: an arena over a region given at start, whose usable size is
//! set from the memory plan before the model is loaded, with the bytes in use and their
//! peak counted.
//!
//! The allocator is a linked-list first-fit heap (`embedded-alloc`'s `LlffHeap`). Every
//! request is charged what the heap really reserves for it (the size rounded up to 8
//! bytes, at least 8), and a request that would take the charged total past the limit is
//! refused (a null pointer, which the core's fallible allocations turn into an
//! `OutOfMemory` error value).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::RefCell;

use critical_section::Mutex;
use embedded_alloc::LlffHeap;

struct Counts {
    capacity: usize,
    limit: usize,
    used: usize,
    peak: usize,
    refused: usize,
}

/// The global allocator.
pub struct Arena {
    heap: LlffHeap,
    counts: Mutex<RefCell<Counts>>,
}

/// What the heap reserves for a request of `layout` (llff rounds sizes up to 8, min 8).
fn charge(layout: Layout) -> usize {
    layout.size().max(8).next_multiple_of(8)
}

impl Arena {
    /// An arena with no memory yet ([`init`](Self::init) gives it).
    pub const fn empty() -> Self {
        Arena {
            heap: LlffHeap::empty(),
            counts: Mutex::new(RefCell::new(Counts {
                capacity: 0,
                limit: 0,
                used: 0,
                peak: 0,
                refused: 0,
            })),
        }
    }

    /// Gives the arena the `capacity` bytes at `base`; allocations may use at most
    /// `limit` of them.
    ///
    /// # Safety
    /// Called once, before any allocation; `base..base + capacity` is RAM that nothing
    /// else uses for the rest of the program.
    pub unsafe fn init(&self, base: usize, capacity: usize, limit: usize) {
        // SAFETY: the caller's contract.
        unsafe { self.heap.init(base, capacity) }
        critical_section::with(|cs| self.counts.borrow_ref_mut(cs).capacity = capacity);
        self.set_limit(limit);
    }

    /// Sets the most bytes the allocations may take together (at most the capacity).
    pub fn set_limit(&self, limit: usize) {
        critical_section::with(|cs| {
            let mut c = self.counts.borrow_ref_mut(cs);
            c.limit = limit.min(c.capacity);
        });
    }

    /// Bytes in use now, their peak, and the requests refused.
    pub fn stats(&self) -> (usize, usize, usize) {
        critical_section::with(|cs| {
            let c = self.counts.borrow_ref(cs);
            (c.used, c.peak, c.refused)
        })
    }
}

// SAFETY: every call is forwarded to `LlffHeap`, a correct allocator; this only refuses
// some requests (returning null, allowed by `GlobalAlloc`) and counts bytes.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let fits = critical_section::with(|cs| {
            let mut c = self.counts.borrow_ref_mut(cs);
            if c.used + charge(layout) > c.limit {
                c.refused += 1;
                return false;
            }
            c.used += charge(layout);
            c.peak = c.peak.max(c.used);
            true
        });
        if !fits {
            return core::ptr::null_mut();
        }
        // SAFETY: the caller's contract is ours (non-zero size layout).
        let p = unsafe { self.heap.alloc(layout) };
        if p.is_null() {
            critical_section::with(|cs| {
                let mut c = self.counts.borrow_ref_mut(cs);
                c.used -= charge(layout);
                c.refused += 1;
            });
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with `layout` (the caller's contract).
        unsafe { self.heap.dealloc(ptr, layout) };
        critical_section::with(|cs| self.counts.borrow_ref_mut(cs).used -= charge(layout));
    }
}
