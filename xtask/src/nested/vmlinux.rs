//! The kernel of the nested guest: Debian's bzImage, its compressed payload, and the
//! `PT_LOAD` segments and PVH entry of the `vmlinux` inside it.
//!
//! Bochs spends minutes in the bzImage's own xz decompressor, so xtask decompresses it on
//! the host (with `xz`, which understands the kernel's BCJ filter) and boots the segments
//! directly through the kernel's PVH entry (Debian sets `CONFIG_PVH=y`; the entry is the
//! `XEN_ELFNOTE_PHYS32_ENTRY` note). Offsets: Documentation/x86/boot.rst.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::process::{Command, Stdio};

/// `XEN_ELFNOTE_PHYS32_ENTRY` (xen/include/public/elfnote.h).
const PHYS32_ENTRY_NOTE: u32 = 18;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;

/// A loadable segment of `vmlinux`: `filesz` bytes at `offset` in the file, loaded at
/// `paddr`, `memsz` bytes in memory (the rest zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub paddr: u64,
    pub offset: usize,
    pub filesz: usize,
    pub memsz: u64,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The compressed kernel inside a bzImage: `payload_length` bytes at `payload_offset`
/// from the start of the protected-mode code, which follows the `setup_sects` + 1
/// sectors of the real-mode part.
pub fn payload(bzimage: &[u8]) -> Result<&[u8]> {
    if bzimage.get(0x202..0x206) != Some(b"HdrS") {
        bail!("not a bzImage (no HdrS boot header at 0x202)");
    }
    let setup_sects = match bzimage[0x1f1] {
        0 => 4,
        n => usize::from(n),
    };
    let start = (setup_sects + 1) * 512;
    let (offset, length) = (u32_at(bzimage, 0x248), u32_at(bzimage, 0x24c));
    let (Some(offset), Some(length)) = (offset, length) else {
        bail!("bzImage header too short for payload_offset/payload_length");
    };
    let from = start + offset as usize;
    bzimage
        .get(from..from + length as usize)
        .context("bzImage payload lies outside the file")
}

/// Decompresses an xz payload with `xz -dc` (package xz-utils).
pub fn unxz(compressed: &[u8]) -> Result<Vec<u8>> {
    if !compressed.starts_with(b"\xfd7zXZ\0") {
        bail!("the kernel payload is not xz-compressed (Debian's kernels are)");
    }
    let mut child = Command::new("xz")
        .args(["-dc", "--single-stream"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running xz (package xz-utils)")?;
    let mut stdin = child.stdin.take().context("xz stdin")?;
    let output = std::thread::scope(|s| {
        s.spawn(move || stdin.write_all(compressed));
        child.wait_with_output()
    })?;
    if !output.status.success() {
        bail!(
            "xz -dc failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output.stdout)
}

/// The program headers of an x86-64 ELF: each one's type and extent.
fn program_headers(elf: &[u8]) -> Result<Vec<(u32, Segment)>> {
    if !elf.starts_with(b"\x7fELF\x02\x01") || u16_at(elf, 0x12) != Some(62) {
        bail!("vmlinux is not a little-endian x86-64 ELF64");
    }
    let phoff = u64_at(elf, 0x20).context("short ELF header")? as usize;
    let phentsize = usize::from(u16_at(elf, 0x36).context("short ELF header")?);
    let phnum = usize::from(u16_at(elf, 0x38).context("short ELF header")?);
    (0..phnum)
        .map(|i| {
            let at = phoff + i * phentsize;
            let field = |o: usize| u64_at(elf, at + o);
            match (u32_at(elf, at), field(8), field(24), field(32), field(40)) {
                (Some(t), Some(off), Some(paddr), Some(filesz), Some(memsz)) => {
                    let (off, filesz) = (off as usize, filesz as usize);
                    if elf.len() < off + filesz {
                        bail!("program header {i} points past the end of vmlinux");
                    }
                    let segment = Segment {
                        paddr,
                        offset: off,
                        filesz,
                        memsz,
                    };
                    Ok((t, segment))
                }
                _ => bail!("program header {i} is truncated"),
            }
        })
        .collect()
}

/// The `PT_LOAD` segments of `vmlinux`.
pub fn segments(elf: &[u8]) -> Result<Vec<Segment>> {
    let segments: Vec<Segment> = program_headers(elf)?
        .into_iter()
        .filter(|h| h.0 == PT_LOAD)
        .map(|h| h.1)
        .collect();
    if segments.is_empty() {
        bail!("vmlinux has no PT_LOAD segment");
    }
    if let Some(s) = segments
        .iter()
        .find(|s| s.paddr + s.memsz > u64::from(u32::MAX))
    {
        bail!("vmlinux segment at {:#x} lies above 4 GiB", s.paddr);
    }
    Ok(segments)
}

/// The 32-bit PVH entry point from the `Xen` note of type 18 in a `PT_NOTE` segment.
pub fn pvh_entry(elf: &[u8]) -> Result<u32> {
    for (t, segment) in program_headers(elf)? {
        if t != PT_NOTE {
            continue;
        }
        let notes = &elf[segment.offset..segment.offset + segment.filesz];
        let mut at = 0;
        while let (Some(namesz), Some(descsz), Some(kind)) = (
            u32_at(notes, at),
            u32_at(notes, at + 4),
            u32_at(notes, at + 8),
        ) {
            let name_at = at + 12;
            let desc_at = name_at + (namesz as usize).next_multiple_of(4);
            let name = notes.get(name_at..name_at + namesz as usize).unwrap_or(b"");
            if name.strip_suffix(b"\0") == Some(b"Xen") && kind == PHYS32_ENTRY_NOTE {
                return u32_at(notes, desc_at).context("truncated PVH entry note");
            }
            at = desc_at + (descsz as usize).next_multiple_of(4);
        }
    }
    bail!("vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): a kernel without CONFIG_PVH")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal x86-64 ELF with one PT_LOAD (`data` at `paddr`, `bss` more zero bytes)
    /// and a PT_NOTE holding a `Xen` note of type 18 with `entry`.
    pub(crate) fn tiny_vmlinux(paddr: u64, data: &[u8], bss: u64, entry: u32) -> Vec<u8> {
        let mut note = Vec::new();
        for w in [4u32, 4, 18] {
            note.extend(w.to_le_bytes());
        }
        note.extend(b"Xen\0");
        note.extend(entry.to_le_bytes());
        let phoff = 64;
        let data_at = 0x1000;
        let note_at = data_at + data.len();
        let mut elf = vec![0u8; note_at];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[0x12..0x14].copy_from_slice(&62u16.to_le_bytes());
        elf[0x20..0x28].copy_from_slice(&(phoff as u64).to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        let headers = [
            (
                PT_LOAD,
                data_at,
                paddr,
                data.len() as u64,
                data.len() as u64 + bss,
            ),
            (PT_NOTE, note_at, 0, note.len() as u64, note.len() as u64),
        ];
        for (i, (t, off, pa, fs, ms)) in headers.into_iter().enumerate() {
            let at = phoff + i * 56;
            elf[at..at + 4].copy_from_slice(&t.to_le_bytes());
            elf[at + 8..at + 16].copy_from_slice(&(off as u64).to_le_bytes());
            elf[at + 24..at + 32].copy_from_slice(&pa.to_le_bytes());
            elf[at + 32..at + 40].copy_from_slice(&fs.to_le_bytes());
            elf[at + 40..at + 48].copy_from_slice(&ms.to_le_bytes());
        }
        elf[data_at..note_at].copy_from_slice(data);
        elf.extend(note);
        elf
    }

    #[test]
    fn reads_segments_and_the_pvh_entry() {
        let elf = tiny_vmlinux(0x100_0000, &[0xAA; 8192], 4096, 0x100_0123);
        let segments = segments(&elf).unwrap();
        assert_eq!(
            segments,
            [Segment {
                paddr: 0x100_0000,
                offset: 0x1000,
                filesz: 8192,
                memsz: 12288
            }]
        );
        assert_eq!(pvh_entry(&elf).unwrap(), 0x100_0123);
        assert!(segments_err(b"MZ"));
    }

    fn segments_err(bytes: &[u8]) -> bool {
        segments(bytes).is_err() && pvh_entry(bytes).is_err()
    }

    #[test]
    fn finds_the_payload_of_a_bzimage() {
        let mut bz = vec![0u8; 0x1000];
        bz[0x1f1] = 2; // (2 + 1) sectors of setup: protected-mode code at 0x600
        bz[0x202..0x206].copy_from_slice(b"HdrS");
        bz[0x248..0x24c].copy_from_slice(&0x10u32.to_le_bytes());
        bz[0x24c..0x250].copy_from_slice(&6u32.to_le_bytes());
        bz[0x610..0x616].copy_from_slice(b"\xfd7zXZ\0");
        assert_eq!(payload(&bz).unwrap(), b"\xfd7zXZ\0");
        bz[0x24c..0x250].copy_from_slice(&0x1000u32.to_le_bytes());
        assert!(payload(&bz).is_err());
        assert!(payload(b"not a kernel").is_err());
        assert!(unxz(b"gzip\x1f\x8b").is_err());
    }
}
