//! The guest's boot image: one ELF32 that GRUB's multiboot loader loads whole — the PVH
//! stub at [`stub::BASE`] (its multiboot header within the first 8 KiB of the file, as
//! Multiboot 0.6.96 §3.1 requires) and the kernel's segments at their physical addresses.
//!
//! Runs of all-zero pages are not stored: each becomes a segment with no file bytes,
//! which the loader zero-fills (GRUB reads the ISO through the BIOS in Bochs at a few
//! MB/s, and a third of Debian's vmlinux is zeros).

use super::stub;
use super::vmlinux::Segment;
use anyhow::{Result, bail};

/// A zero run shorter than this many pages stays in the file (fewer segments).
pub const MIN_ZERO_PAGES: usize = 16;
const PAGE: usize = 4096;
/// Where the stub's bytes start in the file (the program headers come before).
const STUB_OFFSET: usize = 0x1000;
const EHDR: usize = 52;
const PHDR: usize = 32;

/// One program header of the output: `file` bytes of the source at `paddr`, `memsz`
/// bytes of memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub paddr: u32,
    pub file: std::ops::Range<usize>,
    pub memsz: u32,
}

/// A kernel segment cut into pieces, leaving out runs of at least [`MIN_ZERO_PAGES`]
/// zero pages (and the zero tail beyond `filesz`) as pieces without file bytes.
pub fn pieces(source: &[u8], segment: &Segment) -> Vec<Piece> {
    let bytes = &source[segment.offset..segment.offset + segment.filesz];
    let pages: Vec<bool> = bytes
        .chunks(PAGE)
        .map(|p| p.iter().all(|&b| b == 0))
        .collect();
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < pages.len() {
        let zero = pages[at];
        let mut end = at;
        while end < pages.len() && pages[end] == zero {
            end += 1;
        }
        let dropped = zero && end - at >= MIN_ZERO_PAGES;
        let (from, to) = (at * PAGE, (end * PAGE).min(bytes.len()));
        let paddr = (segment.paddr + from as u64) as u32;
        match pieces.last_mut() {
            // A short zero run, or data after one, joins the piece before it.
            Some(Piece { file, memsz, .. }) if !dropped && file.start < file.end => {
                file.end = segment.offset + to;
                *memsz += (to - from) as u32;
            }
            _ if dropped => pieces.push(Piece {
                paddr,
                file: 0..0,
                memsz: (to - from) as u32,
            }),
            _ => pieces.push(Piece {
                paddr,
                file: segment.offset + from..segment.offset + to,
                memsz: (to - from) as u32,
            }),
        }
        at = end;
    }
    let tail = segment.memsz - segment.filesz as u64;
    if tail > 0 {
        pieces.push(Piece {
            paddr: (segment.paddr + segment.filesz as u64) as u32,
            file: 0..0,
            memsz: tail as u32,
        });
    }
    pieces
}

/// The ELF32 image: `stub` (entry already patched) and the `pieces` of `source`.
pub fn write(stub_bytes: &[u8], source: &[u8], pieces: &[Piece]) -> Result<Vec<u8>> {
    let count = 1 + pieces.len();
    if EHDR + count * PHDR > STUB_OFFSET {
        bail!(
            "{count} segments do not fit before the stub (at most {})",
            (STUB_OFFSET - EHDR) / PHDR
        );
    }
    stub::check(stub_bytes)?;
    let mut out = vec![0u8; STUB_OFFSET];
    out.extend_from_slice(stub_bytes);
    let mut headers = vec![(STUB_OFFSET, stub::BASE, stub_bytes.len(), stub::MEMSZ, 7u32)];
    for piece in pieces {
        let offset = if piece.file.start == piece.file.end {
            0
        } else {
            out.resize(out.len().next_multiple_of(PAGE), 0);
            let at = out.len();
            out.extend_from_slice(&source[piece.file.clone()]);
            at
        };
        headers.push((offset, piece.paddr, piece.file.len(), piece.memsz, 7));
    }
    out[..EHDR].copy_from_slice(&elf_header(count as u16));
    for (i, (offset, paddr, filesz, memsz, flags)) in headers.into_iter().enumerate() {
        let words = [
            1u32,
            offset as u32,
            paddr,
            paddr,
            filesz as u32,
            memsz,
            flags,
            PAGE as u32,
        ];
        let at = EHDR + i * PHDR;
        for (j, w) in words.iter().enumerate() {
            out[at + 4 * j..at + 4 * j + 4].copy_from_slice(&w.to_le_bytes());
        }
    }
    Ok(out)
}

fn elf_header(phnum: u16) -> [u8; EHDR] {
    let mut h = [0u8; EHDR];
    h[..7].copy_from_slice(b"\x7fELF\x01\x01\x01"); // ELF32, little-endian, version 1
    h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h[18..20].copy_from_slice(&3u16.to_le_bytes()); // EM_386
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[24..28].copy_from_slice(&(stub::BASE + stub::START).to_le_bytes());
    h[28..32].copy_from_slice(&(EHDR as u32).to_le_bytes()); // e_phoff
    h[40..42].copy_from_slice(&(EHDR as u16).to_le_bytes()); // e_ehsize
    h[42..44].copy_from_slice(&(PHDR as u16).to_le_bytes());
    h[44..46].copy_from_slice(&phnum.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(bytes: &[u8], memsz: u64) -> Segment {
        Segment {
            paddr: 0x100_0000,
            offset: 0,
            filesz: bytes.len(),
            memsz,
        }
    }

    #[test]
    fn long_zero_runs_and_the_tail_are_not_stored() {
        let mut bytes = vec![1u8; PAGE];
        bytes.extend(vec![0u8; MIN_ZERO_PAGES * PAGE]); // dropped
        bytes.extend(vec![2u8; PAGE]);
        bytes.extend(vec![0u8; PAGE]); // short: kept
        bytes.extend(vec![3u8; 100]);
        let len = bytes.len();
        let got = pieces(&bytes, &segment(&bytes, len as u64 + 0x2000));
        let base = 0x100_0000u32;
        let z = (MIN_ZERO_PAGES * PAGE) as u32;
        assert_eq!(
            got,
            [
                Piece {
                    paddr: base,
                    file: 0..PAGE,
                    memsz: PAGE as u32
                },
                Piece {
                    paddr: base + 0x1000,
                    file: 0..0,
                    memsz: z
                },
                Piece {
                    paddr: base + 0x1000 + z,
                    file: PAGE + z as usize..len,
                    memsz: (len - PAGE) as u32 - z
                },
                Piece {
                    paddr: base + len as u32,
                    file: 0..0,
                    memsz: 0x2000
                },
            ]
        );
    }

    #[test]
    fn the_image_is_a_multiboot_elf32_entering_the_stub() {
        let mut stub_bytes = vec![0u8; 64];
        let header = [0x1BAD_B002u32, 3, 0u32.wrapping_sub(0x1BAD_B002 + 3)];
        for (i, w) in header.iter().enumerate() {
            stub_bytes[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        stub_bytes[16] = 0xFA;
        let source = vec![7u8; 3 * PAGE];
        let seg = Segment {
            paddr: 0x100_0000,
            offset: 0,
            filesz: source.len(),
            memsz: source.len() as u64,
        };
        let image = write(&stub_bytes, &source, &pieces(&source, &seg)).unwrap();
        assert_eq!(
            crate::kernel::multiboot_header_offset(&image),
            Some(STUB_OFFSET)
        );
        let word = |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().unwrap());
        assert_eq!(word(24), stub::BASE + stub::START);
        assert_eq!(u16::from_le_bytes([image[44], image[45]]), 2);
        let kernel = EHDR + PHDR;
        assert_eq!(word(kernel + 12), 0x100_0000); // p_paddr
        assert_eq!(word(kernel + 16), 3 * PAGE as u32); // p_filesz
        let offset = word(kernel + 4) as usize;
        assert_eq!(&image[offset..offset + 3 * PAGE], &source[..]);
        let many = vec![
            Piece {
                paddr: 0,
                file: 0..0,
                memsz: 1
            };
            200
        ];
        assert!(write(&stub_bytes, &source, &many).is_err());
    }
}
