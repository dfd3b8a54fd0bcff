//! What the backends normalise with `tessera_engine::decode`: a #UD, an INTn intercept
//! without its vector, a CPUID without its length, each decoded from the bytes as the
//! CPU fetches them in the view — so the engine sees the exits VMX reports.

use std::collections::BTreeMap;
use tessera_core::exit::{Access, Privileged, VmExit};
use tessera_engine::backend::{Code, Loaded};
use tessera_engine::decode::{invalid_opcode, length, software_interrupt};
use tessera_engine::ids::ViewId;

const RIP: u64 = 0x40_0ffc;
const V: ViewId = ViewId(3);
const FROM: Loaded = Loaded::View(V);

/// Executable bytes at RIP; everything else not executable (readable, as data is).
struct Bytes(BTreeMap<u64, u8>);

impl Bytes {
    fn at_rip(bytes: &[u8]) -> Self {
        Bytes(
            bytes
                .iter()
                .enumerate()
                .map(|(i, b)| (RIP + i as u64, *b))
                .collect(),
        )
    }
}

impl Code for Bytes {
    fn fetch(&self, view: ViewId, at: u64) -> Result<u8, Access> {
        assert_eq!(view, V, "fetched through the view that executed");
        self.0.get(&at).copied().ok_or(Access {
            read: true,
            write: true,
            execute: false,
        })
    }

    fn fetch_root(&self, root: u64, at: u64) -> Result<u8, Access> {
        panic!("fetched {at:#x} through root {root:#x}, not the view's tables");
    }
}

fn ud(bytes: &[u8], hardware: bool) -> VmExit {
    invalid_opcode(&Bytes::at_rip(bytes), FROM, RIP, hardware)
}

const UD: VmExit = VmExit::Exception {
    vector: 6,
    error_code: None,
};

#[test]
fn a_ud_is_the_instruction_that_raised_it() {
    assert_eq!(ud(&[0x0f, 0x01, 0xc1], false), VmExit::Hypercall { len: 3 });
    assert_eq!(ud(&[0x0f, 0x01, 0xd4], false), VmExit::VmFuncUd { len: 3 });
    // Prefixes count in the length (VMFUNC-SEMANTICS.md).
    assert_eq!(
        ud(&[0x2e, 0x48, 0x0f, 0x01, 0xd4], false),
        VmExit::VmFuncUd { len: 5 }
    );
    assert_eq!(ud(&[0xf1], false), VmExit::Privileged(Privileged::Icebp));
    assert_eq!(ud(&[0x0f, 0x0b], false), UD, "UD2 is a genuine #UD");
    // 66/F2/F3/LOCK make VMFUNC itself #UD.
    assert_eq!(ud(&[0xf3, 0x0f, 0x01, 0xd4], false), UD);
}

#[test]
fn with_hardware_switching_a_vmfunc_ud_is_genuine() {
    assert_eq!(ud(&[0x0f, 0x01, 0xd4], true), UD);
    assert_eq!(ud(&[0x0f, 0x01, 0xc1], true), VmExit::Hypercall { len: 3 });
}

#[test]
fn a_byte_the_view_does_not_let_the_cpu_fetch_is_the_fetch_violation() {
    // Two bytes of VMFUNC before the end of what is executable: the third fetch faults.
    let exit = ud(&[0x0f, 0x01], false);
    let VmExit::MemoryViolation {
        gpa,
        access,
        allowed,
    } = exit
    else {
        panic!("{exit:?}");
    };
    assert_eq!(gpa, RIP + 2);
    assert!(access.execute && !access.read && !access.write);
    assert_eq!((allowed.read, allowed.execute), (true, false));
}

#[test]
fn more_than_fifteen_bytes_of_prefixes_is_gp0() {
    let mut bytes = vec![0x2e; 15];
    bytes.extend([0x0f, 0x01, 0xd4]);
    assert_eq!(
        ud(&bytes, false),
        VmExit::Exception {
            vector: 13,
            error_code: Some(0)
        }
    );
}

#[test]
fn an_intn_intercept_is_the_exception_vmx_reports() {
    let int3 = software_interrupt(&Bytes::at_rip(&[0xcc]), FROM, RIP);
    assert_eq!(
        int3,
        VmExit::Exception {
            vector: 3,
            error_code: None
        }
    );
    // INT 21h with a prefix: #GP naming IDT entry 0x21 (index << 3 | IDT).
    let int21 = software_interrupt(&Bytes::at_rip(&[0x66, 0xcd, 0x21]), FROM, RIP);
    assert_eq!(
        int21,
        VmExit::Exception {
            vector: 13,
            error_code: Some(0x21 << 3 | 2)
        }
    );
}

#[test]
fn cpuid_length_is_decoded_never_guessed() {
    let cpuid = tessera_core::decode::CPUID;
    assert_eq!(
        length(&Bytes::at_rip(&[0x0f, 0xa2]), FROM, RIP, &cpuid, 9),
        2
    );
    assert_eq!(
        length(&Bytes::at_rip(&[0x2e, 0x0f, 0xa2]), FROM, RIP, &cpuid, 9),
        3
    );
    // Not CPUID at RIP (or not fetchable): the record's own length.
    assert_eq!(length(&Bytes::at_rip(&[0x90]), FROM, RIP, &cpuid, 9), 9);
}

/// Fetches nothing: the fast path must not need the bytes.
struct NoFetch;

impl Code for NoFetch {
    fn fetch(&self, _: ViewId, at: u64) -> Result<u8, Access> {
        panic!("fetched {at:#x}");
    }

    fn fetch_root(&self, _: u64, at: u64) -> Result<u8, Access> {
        panic!("fetched {at:#x}");
    }
}

#[test]
fn a_ud_at_the_own_slot_is_the_gate_vmfunc_without_a_fetch() {
    let slot = tessera_core::protocol::own_slot(u64::from(V.0));
    assert_eq!(
        invalid_opcode(&NoFetch, FROM, slot, false),
        VmExit::VmFuncUd { len: 3 }
    );
    // Another view's slot goes through the decoder (and fetches).
    let other = tessera_core::protocol::own_slot(4);
    let fetched = std::panic::catch_unwind(|| invalid_opcode(&NoFetch, FROM, other, false));
    assert!(
        fetched.is_err(),
        "a foreign slot must be decoded from its bytes"
    );
}

#[test]
fn through_tables_that_are_no_view_s_the_own_slot_is_decoded_from_its_bytes() {
    // The fixture's alias roots may map anything at the slot address.
    let slot = tessera_core::protocol::own_slot(u64::from(V.0));
    let fetched =
        std::panic::catch_unwind(|| invalid_opcode(&NoFetch, Loaded::Root(0x20_0000), slot, false));
    assert!(fetched.is_err());
}
