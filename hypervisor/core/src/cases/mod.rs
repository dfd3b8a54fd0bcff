//! The VMFUNC conformance cases as the fixture receives them (docs/conformance.md): a
//! multiboot module named `cases` that `cargo xtask conformance` writes from row files.
//! Each case is one instruction (VMFUNC with its prefixes, or another instruction whose
//! report must be the same on every engine), the registers and flags it runs with, the
//! EPTP-list entry at slot ECX, the view it starts in and where its bytes sit on a pair
//! of pages. The fixture (`tessera_engine::fixture`) runs it and reports
//! how it ended; the expected outcome is xtask's, computed from the SDM.
//!
//! Binary layout (little-endian): a 16-byte header — [`MAGIC`], the case count (u32),
//! [`RECORD`] (u32) — then one 64-byte record per case:
//!
//! | offset | field |
//! |---|---|
//! | 0 | RAX (u64) |
//! | 8 | RCX (u64) |
//! | 16 | instruction bytes, [`MAX_BYTES`] |
//! | 40 | number of instruction bytes |
//! | 41 | flags: bit 0 TF, 1 MOV-SS shadow, 2 warm (run once from the base view first), 3 an entry is given |
//! | 42 | entry tables ([`Tables`]) |
//! | 43 | entry memory type (EPTP bits 2:0) |
//! | 44 | entry page-walk length in levels (EPTP bits 5:3 + 1) |
//! | 45 | entry bits: 0 A/D (bit 6), 1–5 EPTP bits 7–11, 6 the bit at MAXPHYADDR, 7 the whole entry 0 |
//! | 46 | start view ([`Tables`]: base, next-nx or next-unmapped) |
//! | 47 | placement ([`Placement`]): 0 middle of the first page, 1 ends at its end, 2 straddles |
//! | 48 | bytes on the first page when straddling |

/// The module's first bytes.
pub const MAGIC: [u8; 8] = *b"TSRCASE1";
/// Bytes per case.
pub const RECORD: usize = 64;
/// Header bytes.
pub const HEADER: usize = 16;
/// Instruction bytes a case can hold (more than 15, for the length-limit cases).
pub const MAX_BYTES: usize = 24;
/// Most cases one module may hold (each takes two pages of the fixture's case area).
pub const MAX_CASES: usize = 512;

/// Guest-physical base of the fixture's case area: case `i` has the two pages at
/// `CASE_AREA + i * CASE_STRIDE` (identity-mapped by the guest page tables, above every
/// compartment region).
pub const CASE_AREA: u64 = 0xC000_0000;
/// Two pages per case.
pub const CASE_STRIDE: u64 = 0x2000;
/// `mov ss, edx` (the MOV-SS-shadow prologue; the fixture sets EDX to the data selector).
pub const MOV_SS_EDX: [u8; 2] = [0x8E, 0xD2];
/// `pushfq; or qword [rsp], 0x100; popfq`: the case sets RFLAGS.TF itself, so the next
/// instruction is the first to run with it (SDM 3A §18.3.1.4: the trap follows the
/// instruction that starts with TF set). L1 never enters the guest with TF set: what a
/// VM entry does with it is not what the rows test.
pub const SET_TF: [u8; 10] = [0x9C, 0x48, 0x81, 0x0C, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9D];
/// `VMCALL`: the landing after the instruction. Reaching it means the instruction
/// completed (and, for VMFUNC, where the CPU then fetched from).
pub const LANDING: [u8; 3] = [0x0F, 0x01, 0xC1];

/// Where a case's code sits, as offsets from its first page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The first byte executed (the prologue's, if any).
    pub code: u64,
    /// The instruction under test.
    pub instruction: u64,
    /// The landing `VMCALL`.
    pub landing: u64,
}

/// Which second-level tables a pointer roots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tables {
    /// The fixture compartment's own view (list slot 0).
    Base,
    /// A copy of the base root: the same translations under another pointer.
    Clone,
    /// A zeroed root: nothing is mapped (the next fetch faults in it).
    Unbacked,
    /// A root whose first entry has a reserved bit set (EPT misconfiguration; NPF on NPT).
    Misconfig,
    /// The base translations, with each case's second page readable but not executable.
    NextNx,
    /// The base translations, with each case's second page unmapped.
    NextUnmapped,
}

impl Tables {
    const ALL: [Tables; 6] = [
        Tables::Base,
        Tables::Clone,
        Tables::Unbacked,
        Tables::Misconfig,
        Tables::NextNx,
        Tables::NextUnmapped,
    ];

    fn code(self) -> u8 {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0) as u8
    }

    fn from_code(code: u8) -> Option<Tables> {
        Self::ALL.get(usize::from(code)).copied()
    }
}

/// The EPTP-list entry a case puts at slot ECX, as a form (the fixture knows the roots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryForm {
    pub tables: Tables,
    /// Bits 2:0.
    pub memory_type: u8,
    /// Page-walk length in levels (bits 5:3 hold it minus one).
    pub walk: u8,
    /// Bit 6.
    pub ad: bool,
    /// Bits 11:7, as a mask of bit 7 upwards (bit 0 of this = EPTP bit 7).
    pub reserved: u8,
    /// Set the bit at MAXPHYADDR.
    pub wide: bool,
    /// The entry is 0 (every other field ignored).
    pub zero: bool,
}

impl EntryForm {
    /// A valid-looking WB, 4-level entry for `tables`.
    pub const fn plain(tables: Tables) -> EntryForm {
        EntryForm {
            tables,
            memory_type: 6,
            walk: 4,
            ad: false,
            reserved: 0,
            wide: false,
            zero: false,
        }
    }

    /// The entry's value for a root at `root` on a CPU with `maxphyaddr` address bits.
    pub fn value(&self, root: u64, maxphyaddr: u8) -> u64 {
        if self.zero {
            return 0;
        }
        let mut v = root
            | u64::from(self.memory_type & 7)
            | (u64::from(self.walk.wrapping_sub(1) & 7) << 3)
            | (u64::from(self.ad) << 6)
            | (u64::from(self.reserved & 0x1F) << 7);
        if self.wide {
            v |= 1u64 << maxphyaddr.min(63);
        }
        v
    }
}

/// Where a case's bytes sit on its two pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Well inside the first page.
    Middle,
    /// The instruction ends at the first page's last byte (what follows is on the second).
    End,
    /// The instruction's first N bytes are on the first page, the rest on the second.
    Straddle(u8),
}

/// One case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub rax: u64,
    pub rcx: u64,
    pub bytes: [u8; MAX_BYTES],
    pub len: u8,
    pub tf: bool,
    pub movss: bool,
    pub warm: bool,
    /// The entry at slot ECX (`None`: the slot is left empty, or ECX names no slot).
    pub entry: Option<EntryForm>,
    pub start: Tables,
    pub place: Placement,
}

impl Case {
    /// The instruction's bytes.
    pub fn instruction(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len).min(MAX_BYTES)]
    }

    /// Where the case's code goes on its pages ([`Placement`]).
    pub fn layout(&self) -> Layout {
        let len = u64::from(self.len);
        let instruction = match self.place {
            Placement::Middle => 0x800,
            Placement::End => 0x1000 - len,
            Placement::Straddle(n) => 0x1000 - u64::from(n),
        };
        let prologue = (if self.tf { SET_TF.len() } else { 0 }
            + if self.movss { MOV_SS_EDX.len() } else { 0 }) as u64;
        Layout {
            code: instruction - prologue,
            instruction,
            landing: instruction + len,
        }
    }

    /// The bytes from [`Layout::code`] on: prologue, instruction, landing.
    pub fn code(&self) -> alloc::vec::Vec<u8> {
        // TF first (so the MOV SS runs with it: its trap waits for the instruction).
        let mut code = alloc::vec::Vec::new();
        if self.tf {
            code.extend_from_slice(&SET_TF);
        }
        if self.movss {
            code.extend_from_slice(&MOV_SS_EDX);
        }
        code.extend_from_slice(self.instruction());
        code.extend_from_slice(&LANDING);
        code
    }

    /// The record's 64 bytes.
    pub fn encode(&self) -> [u8; RECORD] {
        let mut r = [0u8; RECORD];
        r[0..8].copy_from_slice(&self.rax.to_le_bytes());
        r[8..16].copy_from_slice(&self.rcx.to_le_bytes());
        r[16..16 + MAX_BYTES].copy_from_slice(&self.bytes);
        r[40] = self.len;
        r[41] = u8::from(self.tf)
            | u8::from(self.movss) << 1
            | u8::from(self.warm) << 2
            | u8::from(self.entry.is_some()) << 3;
        if let Some(e) = self.entry {
            r[42] = e.tables.code();
            r[43] = e.memory_type;
            r[44] = e.walk;
            r[45] = u8::from(e.ad)
                | (e.reserved & 0x1F) << 1
                | u8::from(e.wide) << 6
                | u8::from(e.zero) << 7;
        }
        r[46] = self.start.code();
        (r[47], r[48]) = match self.place {
            Placement::Middle => (0, 0),
            Placement::End => (1, 0),
            Placement::Straddle(n) => (2, n),
        };
        r
    }

    fn decode(r: &[u8]) -> Option<Case> {
        let word = |at: usize| Some(u64::from_le_bytes(r.get(at..at + 8)?.try_into().ok()?));
        let flags = r[41];
        let entry = (flags & 8 != 0).then_some(()).map(|()| {
            Tables::from_code(r[42]).map(|tables| EntryForm {
                tables,
                memory_type: r[43],
                walk: r[44],
                ad: r[45] & 1 != 0,
                reserved: (r[45] >> 1) & 0x1F,
                wide: r[45] & 0x40 != 0,
                zero: r[45] & 0x80 != 0,
            })
        });
        let entry = match entry {
            Some(None) => return None,
            Some(Some(e)) => Some(e),
            None => None,
        };
        let place = match (r[47], r[48]) {
            (0, _) => Placement::Middle,
            (1, _) => Placement::End,
            (2, n) if n >= 1 && n < r[40] => Placement::Straddle(n),
            _ => return None,
        };
        let start = Tables::from_code(r[46])
            .filter(|t| matches!(t, Tables::Base | Tables::NextNx | Tables::NextUnmapped))?;
        (usize::from(r[40]) <= MAX_BYTES && r[40] > 0).then_some(Case {
            rax: word(0)?,
            rcx: word(8)?,
            bytes: r[16..16 + MAX_BYTES].try_into().ok()?,
            len: r[40],
            tf: flags & 1 != 0,
            movss: flags & 2 != 0,
            warm: flags & 4 != 0,
            entry,
            start,
            place,
        })
    }
}

/// The module for `cases`.
pub fn encode(cases: &[Case]) -> alloc::vec::Vec<u8> {
    let mut out = alloc::vec::Vec::with_capacity(HEADER + RECORD * cases.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(cases.len() as u32).to_le_bytes());
    out.extend_from_slice(&(RECORD as u32).to_le_bytes());
    for c in cases {
        out.extend_from_slice(&c.encode());
    }
    out
}

/// Why a module is not a case table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasesError {
    Header,
    TooMany,
    /// Case N is malformed.
    Case(usize),
}

/// Reads a case module: the number of cases, after checking every one decodes.
pub fn count(module: &[u8]) -> Result<usize, CasesError> {
    if module.len() < HEADER || module[..8] != MAGIC {
        return Err(CasesError::Header);
    }
    let n = u32::from_le_bytes([module[8], module[9], module[10], module[11]]) as usize;
    let size = u32::from_le_bytes([module[12], module[13], module[14], module[15]]) as usize;
    if size != RECORD || module.len() != HEADER + n.saturating_mul(RECORD) {
        return Err(CasesError::Header);
    }
    if n > MAX_CASES {
        return Err(CasesError::TooMany);
    }
    for i in 0..n {
        case(module, i).ok_or(CasesError::Case(i))?;
    }
    Ok(n)
}

/// Case `i` of a module [`count`] accepted.
pub fn case(module: &[u8], i: usize) -> Option<Case> {
    let at = HEADER.checked_add(i.checked_mul(RECORD)?)?;
    Case::decode(module.get(at..at + RECORD)?)
}

#[cfg(test)]
mod tests;
