//! Hypercalls: a compartment executes `VMCALL` (`0F 01 C1`, the Intel encoding on every
//! platform; on AMD it raises #UD and the hypervisor decodes it) with the number in RAX
//! and arguments in RDI, RSI, RDX, R10, R8, R9. The result comes back in RAX: a value
//! `>= 0` on success, or a negative [`error`](crate::error) code. The caller is identified
//! by the view it runs in, never by a register.
//!
//! Every call is first checked against its number: UNKNOWN_HYPERCALL if it is not one of
//! [`ALL`], then NOT_PERMITTED if the caller's manifest entry (`hypercalls=`) does not
//! allow it ([`HypercallSet::allows`]). Every pointer argument is a guest-virtual address:
//! L1 translates it through the guest page tables, as the CPU would, and checks the whole
//! range against the calling view's permissions (BAD_POINTER if any byte has no
//! guest-virtual mapping or is not readable there) after checking its length (TOO_LARGE).
//!
//! Every hypercall is one row of one table, [`crate::for_each_hypercall!`]: its number,
//! constant, [`Hypercall`] variant, manifest name, [`Policy`], argument and result
//! registers and documentation. The constants below, [`Hypercall`], [`HypercallSet`] and
//! the SDK's raw wrappers are generated from it; compile-time checks here keep the rows
//! consistent (numbers dense from 0, manifest names unique and present exactly where the
//! policy needs them, registers in ABI order).

pub mod app;
#[macro_use]
mod generate;
mod set;
mod table;

pub use set::HypercallSet;

crate::for_each_hypercall!(define_hypercalls);

/// Every hypercall number this ABI defines; any other is UNKNOWN_HYPERCALL.
pub const ALL: [u64; COUNT] = {
    let mut numbers = [0; COUNT];
    let mut i = 0;
    while i < COUNT {
        numbers[i] = Hypercall::ALL[i].number();
        i += 1;
    }
    numbers
};

/// Words [`REPORT`] accepts; any other is [`NO_SUCH_WORD`](crate::error::NO_SUCH_WORD).
/// A compartment's own lines are `@@APP` ([`APP_REPORT`]), not words of its own.
pub const REPORT_WORDS: &[&str] = &["ROUNDTRIPS", "BENCH", "CALL"];
/// Longest [`REPORT`] line, and longest [`APP_REPORT`] buffer.
pub const REPORT_MAX: u64 = 1024;

/// Whether `word` is one of [`REPORT_WORDS`] (usable in constants: the SDK refuses a
/// literal word that is not one at compile time).
pub const fn is_report_word(word: &str) -> bool {
    let mut i = 0;
    while i < REPORT_WORDS.len() {
        if same(word, REPORT_WORDS[i]) {
            return true;
        }
        i += 1;
    }
    false
}

/// Largest buffer CONSOLE_WRITE and PANIC accept in one call.
pub const CONSOLE_WRITE_MAX: u64 = 4096;

/// Who may make a hypercall (a column of the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Every compartment, whatever its manifest says (a compartment can always end, and
    /// gate code can always report a violation). A manifest may still name it.
    Always,
    /// A compartment whose manifest entry allows it (by its manifest name; a line without
    /// `hypercalls=` allows every one).
    Manifest,
    /// Only inside a test fixture (kernel argument `conformance=1`), which answers it
    /// itself; no manifest names it, and outside the fixture it is NOT_PERMITTED.
    Fixture,
}

/// A register of the hypercall ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Register {
    Rax,
    Rdi,
    Rsi,
    Rdx,
    R10,
    R8,
    R9,
}

impl Register {
    /// The argument registers, in ABI order.
    pub const ARGUMENTS: [Self; 6] = [
        Self::Rdi,
        Self::Rsi,
        Self::Rdx,
        Self::R10,
        Self::R8,
        Self::R9,
    ];

    /// Its position in [`Self::ARGUMENTS`]; `None` for RAX (the number, then the result).
    pub const fn argument_slot(self) -> Option<usize> {
        match self {
            Self::Rax => None,
            Self::Rdi => Some(0),
            Self::Rsi => Some(1),
            Self::Rdx => Some(2),
            Self::R10 => Some(3),
            Self::R8 => Some(4),
            Self::R9 => Some(5),
        }
    }

    /// Its assembly name, e.g. `"rdi"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rax => "rax",
            Self::Rdi => "rdi",
            Self::Rsi => "rsi",
            Self::Rdx => "rdx",
            Self::R10 => "r10",
            Self::R8 => "r8",
            Self::R9 => "r9",
        }
    }
}

/// A named argument or result of a hypercall, and the register that carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Operand {
    /// Its name in the table (the SDK wrapper's parameter name).
    pub name: &'static str,
    /// The register that carries it.
    pub register: Register,
}

/// How many hypercalls have a manifest name.
const NAMEABLE: usize = {
    let mut count = 0;
    let mut i = 0;
    while i < COUNT {
        if Hypercall::ALL[i].manifest_name().is_some() {
            count += 1;
        }
        i += 1;
    }
    count
};

impl Hypercall {
    /// Every hypercall a manifest's `hypercalls=` can name, in number order (the order
    /// a manifest is written in).
    pub const MANIFEST: [Self; NAMEABLE] = {
        let mut nameable = [Self::Exit; NAMEABLE];
        let (mut i, mut j) = (0, 0);
        while i < COUNT {
            if Self::ALL[i].manifest_name().is_some() {
                nameable[j] = Self::ALL[i];
                j += 1;
            }
            i += 1;
        }
        nameable
    };

    /// Its number, for RAX.
    pub const fn number(self) -> u64 {
        self as u64
    }

    /// The hypercall a manifest calls `name`.
    pub fn from_manifest_name(name: &str) -> Option<Self> {
        Self::MANIFEST
            .into_iter()
            .find(|h| h.manifest_name() == Some(name))
    }
}

pub(crate) const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Row `i` against the rows before it and the ABI's register conventions.
const fn check_row(i: usize) {
    let call = Hypercall::ALL[i];
    assert!(
        call.number() == i as u64,
        "numbers are dense from 0, in row order"
    );
    match (call.policy(), call.manifest_name()) {
        (Policy::Manifest, None) => panic!("a Manifest hypercall needs a manifest name"),
        (Policy::Fixture, Some(_)) => panic!("no manifest names a fixture-only hypercall"),
        _ => {}
    }
    if let Some(name) = call.manifest_name() {
        let mut j = 0;
        while j < i {
            if let Some(other) = Hypercall::ALL[j].manifest_name() {
                assert!(!same(name, other), "manifest names are unique");
            }
            j += 1;
        }
    }
    let args = call.args();
    let mut next = 0;
    let mut k = 0;
    while k < args.len() {
        let Some(slot) = args[k].register.argument_slot() else {
            panic!("RAX carries the number, not an argument");
        };
        assert!(slot >= next, "arguments in ABI register order, each once");
        next = slot + 1;
        k += 1;
    }
    let results = call.results();
    assert!(
        !results.is_empty() && matches!(results[0].register, Register::Rax),
        "every hypercall returns RAX first"
    );
}

const _: () = {
    let mut i = 0;
    while i < COUNT {
        check_row(i);
        i += 1;
    }
};
