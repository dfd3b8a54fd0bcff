//! Unit tests over small hand-built ELF images: one valid static PIE shaped like rust-lld's
//! output, and one mutation per rejection.

mod dynamic;
mod header;
mod notes;
mod scan;
mod segments;

use alloc::vec;
use alloc::vec::Vec;

use super::{ImageLimits, ImagePlan, ImageProblem, validate};

pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_NOTE: u32 = 4;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const R: u32 = 4;
pub const W: u32 = 2;
pub const X: u32 = 1;

pub const DT_NULL: u64 = 0;
pub const DT_RELA: u64 = 7;
pub const DT_RELASZ: u64 = 8;
pub const DT_RELAENT: u64 = 9;
pub const DT_RELACOUNT: u64 = 0x6fff_fff9;
pub const R_X86_64_RELATIVE: u64 = 8;

// File layout of the canonical image (all fixed; tests edit fields, not the layout).
pub const PHDR_OFF: usize = 0x40;
pub const NOTE_OFF: usize = 0x400;
pub const RELA_OFF: usize = 0x600;
pub const DYNSYM_OFF: usize = 0x800;
pub const TEXT_OFF: usize = 0x1000;
pub const DYNAMIC_OFF: usize = 0x2000;
pub const SHDR_OFF: usize = 0x2200;
pub const FILE_LEN: usize = 0x2280;

/// One program header.
#[derive(Clone, Copy, Debug)]
pub struct Ph {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

impl Ph {
    pub const fn new(
        p_type: u32,
        flags: u32,
        offset: u64,
        vaddr: u64,
        filesz: u64,
        memsz: u64,
        align: u64,
    ) -> Self {
        Self {
            p_type,
            flags,
            offset,
            vaddr,
            filesz,
            memsz,
            align,
        }
    }
}

/// The hermit-entry entry-version note exactly as `define_entry_version!` emits it.
pub fn hermit_note(version: u8) -> Vec<u8> {
    let mut n = Vec::new();
    n.extend_from_slice(&7u32.to_le_bytes());
    n.extend_from_slice(&1u32.to_le_bytes());
    n.extend_from_slice(&0x5a00u32.to_le_bytes());
    n.extend_from_slice(b"HERMIT\0\0");
    n.extend_from_slice(&[version, 0, 0, 0]);
    n
}

/// The ABI-version note exactly as the SDK's `entry!` emits it, naming `version`.
pub fn abi_note(version: u32) -> Vec<u8> {
    tessera_abi::image::AbiVersionNote::new(version)
        .bytes()
        .to_vec()
}

/// The notes of every SDK-built image: the entry-version note, then the ABI-version
/// note naming this hypervisor's ABI (the order rust-lld lays them out in).
pub fn sdk_notes() -> Vec<u8> {
    [hermit_note(4), abi_note(tessera_abi::ABI_VERSION)].concat()
}

/// A note with arbitrary fields, padded to 4 bytes.
pub fn note(namesz: u32, n_type: u32, name: &[u8], desc: &[u8]) -> Vec<u8> {
    let mut n = Vec::new();
    n.extend_from_slice(&namesz.to_le_bytes());
    n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    n.extend_from_slice(&n_type.to_le_bytes());
    n.extend_from_slice(name);
    while n.len() % 4 != 0 {
        n.push(0);
    }
    n.extend_from_slice(desc);
    while n.len() % 4 != 0 {
        n.push(0);
    }
    n
}

/// A description of an image; [`Image::build`] lays it out at the fixed offsets above.
#[derive(Clone, Debug)]
pub struct Image {
    pub e_type: u16,
    pub entry: u64,
    pub phdrs: Vec<Ph>,
    pub notes: Vec<u8>,
    pub dynamic: Vec<(u64, u64)>,
    pub relas: Vec<(u64, u64, i64)>,
    pub shnum: u16,
}

impl Image {
    /// A valid static PIE: headers+notes+rela R--, text R-X, dynamic+data+bss RW-.
    pub fn valid() -> Self {
        let relas = vec![
            (0x2100, R_X86_64_RELATIVE, 0x1000),
            (0x2108, R_X86_64_RELATIVE, 0x400),
        ];
        Self {
            e_type: 3,
            entry: 0x1000,
            phdrs: vec![
                Ph::new(PT_LOAD, R, 0, 0, 0x900, 0x900, 0x1000),
                Ph::new(PT_LOAD, R | X, 0x1000, 0x1000, 0x10, 0x10, 0x1000),
                Ph::new(PT_LOAD, R | W, 0x2000, 0x2000, 0x110, 0x1000, 0x1000),
                Ph::new(PT_DYNAMIC, R | W, 0x2000, 0x2000, 0x50, 0x50, 8),
                Ph::new(PT_NOTE, R, 0x400, 0x400, 48, 48, 4),
                Ph::new(PT_GNU_STACK, R | W, 0, 0, 0, 0, 0),
            ],
            notes: sdk_notes(),
            dynamic: vec![
                (DT_RELA, RELA_OFF as u64),
                (DT_RELASZ, 48),
                (DT_RELAENT, 24),
                (DT_RELACOUNT, 2),
                (DT_NULL, 0),
            ],
            relas,
            shnum: 2,
        }
    }

    /// The index of the first program header of a type.
    pub fn ph(&mut self, p_type: u32) -> &mut Ph {
        self.phdrs
            .iter_mut()
            .find(|ph| ph.p_type == p_type)
            .unwrap()
    }

    /// Serialises the image.
    pub fn build(&self) -> Vec<u8> {
        let mut f = vec![0u8; FILE_LEN];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // ELFCLASS64
        f[5] = 1; // ELFDATA2LSB
        f[6] = 1; // EV_CURRENT
        put16(&mut f, 16, self.e_type);
        put16(&mut f, 18, 62); // EM_X86_64
        put32(&mut f, 20, 1);
        put64(&mut f, 24, self.entry);
        put64(&mut f, 32, PHDR_OFF as u64);
        put64(&mut f, 40, SHDR_OFF as u64);
        put16(&mut f, 52, 64);
        put16(&mut f, 54, 56);
        put16(&mut f, 56, self.phdrs.len() as u16);
        put16(&mut f, 58, 64);
        put16(&mut f, 60, self.shnum);
        for (i, ph) in self.phdrs.iter().enumerate() {
            let at = PHDR_OFF + i * 56;
            put32(&mut f, at, ph.p_type);
            put32(&mut f, at + 4, ph.flags);
            put64(&mut f, at + 8, ph.offset);
            put64(&mut f, at + 16, ph.vaddr);
            put64(&mut f, at + 24, ph.vaddr);
            put64(&mut f, at + 32, ph.filesz);
            put64(&mut f, at + 40, ph.memsz);
            put64(&mut f, at + 48, ph.align);
        }
        f[NOTE_OFF..NOTE_OFF + self.notes.len()].copy_from_slice(&self.notes);
        for (i, &(offset, info, addend)) in self.relas.iter().enumerate() {
            let at = RELA_OFF + i * 24;
            put64(&mut f, at, offset);
            put64(&mut f, at + 8, info);
            put64(&mut f, at + 16, addend as u64);
        }
        for (i, &(tag, val)) in self.dynamic.iter().enumerate() {
            put64(&mut f, DYNAMIC_OFF + i * 16, tag);
            put64(&mut f, DYNAMIC_OFF + i * 16 + 8, val);
        }
        f[TEXT_OFF..TEXT_OFF + 2].copy_from_slice(&[0xeb, 0xfe]); // jmp $
        // Section 1: .dynsym (one null symbol).
        let sh = SHDR_OFF + 64;
        put32(&mut f, sh + 4, 11);
        put64(&mut f, sh + 24, DYNSYM_OFF as u64);
        put64(&mut f, sh + 32, 24);
        f
    }
}

pub fn put16(f: &mut [u8], at: usize, v: u16) {
    f[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
pub fn put32(f: &mut [u8], at: usize, v: u32) {
    f[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
pub fn put64(f: &mut [u8], at: usize, v: u64) {
    f[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A copy of `bytes` at an 8-byte-aligned address (as a multiboot module is).
pub struct Aligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl Aligned {
    pub fn new(bytes: &[u8]) -> Self {
        let mut storage = vec![0u8; bytes.len() + 8];
        let start = (8 - storage.as_ptr().addr() % 8) % 8;
        storage[start..start + bytes.len()].copy_from_slice(bytes);
        Self {
            storage,
            start,
            len: bytes.len(),
        }
    }
    pub fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }
}

pub const LIMITS: ImageLimits = ImageLimits {
    max_span: 0x100_0000,
};

pub fn check_bytes(bytes: &[u8]) -> Result<ImagePlan, ImageProblem> {
    validate("test", Aligned::new(bytes).bytes(), &LIMITS).map_err(|e| e.problem)
}

/// The problem `validate` reports for `image`; panics if it accepts it.
pub fn problem(image: &Image) -> ImageProblem {
    problem_of(&image.build())
}

pub fn problem_of(bytes: &[u8]) -> ImageProblem {
    match check_bytes(bytes) {
        Ok(plan) => panic!("accepted: {plan:?}"),
        Err(p) => {
            // Every rejection test also exercises the message.
            assert!(!alloc::format!("{p}").is_empty());
            p
        }
    }
}

pub fn accept(image: &Image) -> ImagePlan {
    match check_bytes(&image.build()) {
        Ok(plan) => plan,
        Err(p) => panic!("rejected: {p}"),
    }
}
