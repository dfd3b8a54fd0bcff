//! Rogue `VMFUNC` bytes (DESIGN §6 property 2): where `0F 01 D4` occurs in executable
//! memory.
//!
//! On the hardware path L1 never sees a `VMFUNC` that switches views, so the slotted gate's
//! argument (docs/gates.md) holds only if the bytes `0F 01 D4` are executable in a view at
//! exactly one place: that view's own gate slot. The CPU decodes from any byte address, so
//! the sequence counts wherever it lies — inside an immediate (`cmp ecx, 0xd4010f`), across
//! two instructions, across two pages or two segments that are contiguous in guest memory.
//!
//! [`Scanner`] is the one search every check uses: the image as loaded
//! (`image::scan_loaded`), the gate region (`gate::check_view`), the final walk over a
//! view's second-level table (`view_scan`). It takes ranges in ascending address order
//! and joins two ranges when the second starts where the first ended, so a sequence that
//! spans the boundary is found; a gap between ranges resets it. It keeps no list of what
//! it found (an image full of `VMFUNC` must not exhaust L1's heap): each site goes to a
//! callback.

/// `VMFUNC` (Intel SDM Vol. 2B "VMFUNC—Invoke VM function": NP 0F 01 D4).
pub const VMFUNC: [u8; 3] = [0x0F, 0x01, 0xD4];

/// Searches ranges of executable bytes for [`VMFUNC`], joining contiguous ranges.
#[derive(Debug, Default, Clone)]
pub struct Scanner {
    /// The last (up to two) bytes fed, when the next range may continue them.
    tail: [u8; 2],
    /// How many bytes of `tail` are valid.
    tail_len: usize,
    /// The address right after the last byte fed (`None` before the first range).
    end: Option<u64>,
}

impl Scanner {
    /// A scanner that has seen nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Scans `bytes`, which sit at address `addr` (any address space: an offset in an
    /// image, a guest-physical address). If `addr` is where the previous range ended, a
    /// sequence spanning the two is found too. `found` gets the address of the first byte
    /// of every occurrence, in ascending order.
    pub fn feed(&mut self, addr: u64, bytes: &[u8], mut found: impl FnMut(u64)) {
        if self.end != Some(addr) {
            self.tail_len = 0;
        }
        // Occurrences that start in the tail and end in `bytes`.
        let mut joined = [0u8; 4];
        joined[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
        let head = bytes.len().min(2);
        joined[self.tail_len..self.tail_len + head].copy_from_slice(&bytes[..head]);
        let joined = &joined[..self.tail_len + head];
        for start in 0..self.tail_len {
            if joined.get(start..start + 3) == Some(&VMFUNC[..]) {
                found(addr - (self.tail_len - start) as u64);
            }
        }
        for (at, _) in bytes.windows(3).enumerate().filter(|(_, w)| *w == VMFUNC) {
            found(addr + at as u64);
        }
        // Keep the last two bytes of everything fed so far (joined).
        let keep = joined.len().min(2);
        if bytes.len() >= 2 {
            self.tail.copy_from_slice(&bytes[bytes.len() - 2..]);
            self.tail_len = 2;
        } else {
            let from = joined.len() - keep;
            self.tail[..keep].copy_from_slice(&joined[from..]);
            self.tail_len = keep;
        }
        self.end = addr.checked_add(bytes.len() as u64);
    }
}

/// Every offset at which [`VMFUNC`] starts in `bytes`.
pub fn sites(bytes: &[u8]) -> alloc::vec::Vec<usize> {
    let mut out = alloc::vec::Vec::new();
    Scanner::new().feed(0, bytes, |at| out.push(at as usize));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// All sites of `ranges` fed in order.
    fn run(ranges: &[(u64, &[u8])]) -> Vec<u64> {
        let mut scanner = Scanner::new();
        let mut out = Vec::new();
        for (addr, bytes) in ranges {
            scanner.feed(*addr, bytes, |at| out.push(at));
        }
        out
    }

    #[test]
    fn finds_every_occurrence_in_one_range() {
        let bytes = [0x90, 0x0F, 0x01, 0xD4, 0x0F, 0x01, 0xD4, 0x0F, 0x01];
        assert_eq!(run(&[(0x1000, &bytes)]), [0x1001, 0x1004]);
        assert_eq!(sites(&bytes), [1, 4]);
        // Inside an immediate: `cmp ecx, 0xd4010f` is 81 F9 0F 01 D4 00.
        assert_eq!(sites(&[0x81, 0xF9, 0x0F, 0x01, 0xD4, 0x00]), [2]);
        assert!(sites(&[0x0F, 0x01]).is_empty());
        assert!(sites(&[]).is_empty());
    }

    #[test]
    fn joins_contiguous_ranges_at_every_split() {
        let bytes = [0xCC, 0xCC, 0x0F, 0x01, 0xD4, 0xCC];
        for split in 0..=bytes.len() {
            let (a, b) = bytes.split_at(split);
            assert_eq!(
                run(&[(0x10, a), (0x10 + split as u64, b)]),
                [0x12],
                "{split}"
            );
        }
        // Three ranges of one byte each.
        assert_eq!(run(&[(7, &[0x0F]), (8, &[0x01]), (9, &[0xD4])]), [7]);
        // Empty ranges in between change nothing.
        assert_eq!(
            run(&[(7, &[0x0F]), (8, &[]), (8, &[0x01]), (9, &[]), (9, &[0xD4])]),
            [7]
        );
    }

    #[test]
    fn a_gap_separates_ranges() {
        assert!(run(&[(0, &[0x0F, 0x01]), (3, &[0xD4])]).is_empty());
        assert!(run(&[(0, &[0x0F]), (2, &[0x01, 0xD4])]).is_empty());
        // ... but what follows the gap is scanned on its own.
        assert_eq!(run(&[(0, &[0x0F, 0x01]), (9, &[0x0F, 0x01, 0xD4])]), [9]);
    }

    #[test]
    fn matches_a_plain_search_over_the_concatenation() {
        // Pseudo-random bytes over a tiny alphabet, split at pseudo-random points.
        let mut state = 0x1234_5678u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for _ in 0..2000 {
            let len = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| [0x0F, 0x01, 0xD4, 0x90][(next() % 4) as usize])
                .collect();
            let mut cuts: Vec<usize> = (0..(next() % 5))
                .map(|_| (next() as usize) % (len + 1))
                .collect();
            cuts.push(0);
            cuts.push(len);
            cuts.sort_unstable();
            let ranges: Vec<(u64, &[u8])> = cuts
                .windows(2)
                .map(|w| (0x4000 + w[0] as u64, &bytes[w[0]..w[1]]))
                .collect();
            let expected: Vec<u64> = sites(&bytes).iter().map(|&s| 0x4000 + s as u64).collect();
            let plain: Vec<u64> = bytes
                .windows(3)
                .enumerate()
                .filter(|(_, w)| *w == VMFUNC)
                .map(|(i, _)| 0x4000 + i as u64)
                .collect();
            assert_eq!(expected, plain);
            assert_eq!(run(&ranges), plain, "{bytes:02x?} cut at {cuts:?}");
        }
    }
}
