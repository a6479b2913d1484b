//! Semihosting (the debugger's or qemu's host I/O): line-buffered output, the command
//! line (`-semihosting-config …,arg=…`) and the exit code.

use cortex_m_semihosting::hio;

/// Semihosting output: one host `write` per line (or per 256 bytes), from a fixed buffer,
/// so that printing never touches the heap (it may be full, or not yet given memory).
pub struct Out {
    bytes: [u8; 256],
    len: usize,
}

impl Out {
    /// An empty line buffer.
    pub const fn new() -> Self {
        Out {
            bytes: [0; 256],
            len: 0,
        }
    }

    /// Writes what is buffered to the host's stdout (errors are dropped: there is nowhere
    /// else to report them).
    pub fn flush(&mut self) {
        if let Ok(mut h) = hio::hstdout() {
            let _ = h.write_all(&self.bytes[..self.len]);
        }
        self.len = 0;
    }
}

impl Default for Out {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Write for Out {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.bytes.len() {
                self.flush();
            }
            self.bytes[self.len] = b;
            self.len += 1;
            if b == b'\n' {
                self.flush();
            }
        }
        Ok(())
    }
}

/// The semihosting command line, read into `buf`: the words qemu's
/// `-semihosting-config enable=on,target=native,arg=A,arg=B` gives, joined by spaces
/// (`"A B"`). `None` when the host has none, it does not fit `buf`, or it is not UTF-8.
pub fn cmdline(buf: &mut [u8]) -> Option<&str> {
    const SYS_GET_CMDLINE: usize = 0x15;
    let cap = buf.len().checked_sub(1)?;
    let mut block = [buf.as_mut_ptr() as usize, cap];
    // SAFETY: a semihosting call whose block names a writable buffer and its size; the
    // host writes the command line (NUL-terminated, within the size) and its length into
    // them.
    let r = unsafe { cortex_m_semihosting::syscall1(SYS_GET_CMDLINE, block.as_mut_ptr() as usize) };
    // SAFETY: reads the block the host just wrote (volatile: the write is not visible to
    // the compiler).
    let len = unsafe { core::ptr::read_volatile(&block[1]) };
    if r != 0 || len > cap {
        return None;
    }
    core::str::from_utf8(&buf[..len]).ok()
}

/// Ends the program (qemu exits) with `code`: semihosting `SYS_EXIT_EXTENDED`, reason
/// "application exit".
pub fn exit(code: u32) -> ! {
    const SYS_EXIT_EXTENDED: usize = 0x20;
    const ADP_STOPPED_APPLICATION_EXIT: u32 = 0x20026;
    let block = [ADP_STOPPED_APPLICATION_EXIT, code];
    loop {
        // SAFETY: a semihosting call with a valid two-word parameter block.
        unsafe { cortex_m_semihosting::syscall(SYS_EXIT_EXTENDED, &block) };
    }
}
