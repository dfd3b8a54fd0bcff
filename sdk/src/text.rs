//! UTF-8-safe byte counting shared by the console and the panic handler.

use core::fmt;

/// The largest `n <= max` such that `s[..n]` ends on a character boundary.
///
/// (`str::floor_char_boundary` is newer than the workspace's minimum Rust.)
pub(crate) fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut n = max.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// A fixed-capacity text buffer that keeps what fits and drops the rest, never splitting
/// a character.
#[derive(Debug)]
pub(crate) struct TruncatingBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> TruncatingBuf<N> {
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// The bytes kept so far: always valid UTF-8, at most `N` bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> fmt::Write for TruncatingBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let take = floor_char_boundary(s, N - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take == s.len() {
            Ok(())
        } else {
            // Full: stop formatting, there is nowhere to put the rest.
            Err(fmt::Error)
        }
    }
}
