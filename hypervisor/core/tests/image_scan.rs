//! The rogue-VMFUNC scan (DESIGN §6 property 2) over real compartment images as the loader
//! lays them out: `hello.elf` holds no `0F 01 D4` in its code; `attack-write-gate.elf` (as
//! built before its fix, see the README next to it) holds one inside the immediate of
//! `mov dword [rax], 0xccd4010f`; mutations of hello put the bytes where the scan must
//! find them, or a relocation where the validator must refuse it.

use tessera_core::image::{ImageLimits, ImageProblem, load, scan_loaded};

const BASE: u64 = 0x0100_0000;
const LIMITS: ImageLimits = ImageLimits { max_span: 1 << 24 };

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/elf/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Validates `bytes` (copied to an 8-byte-aligned address, as a multiboot module is
/// placed), lays them out at BASE and scans: the first problem.
fn scan(bytes: &[u8]) -> Result<(), ImageProblem> {
    let mut storage = vec![0u8; bytes.len() + 8];
    let start = (8 - storage.as_ptr().addr() % 8) % 8;
    storage[start..start + bytes.len()].copy_from_slice(bytes);
    let view = &storage[start..start + bytes.len()];
    let loaded = load("fixture", view, &LIMITS, BASE).map_err(|e| e.problem)?;
    scan_loaded(&loaded.plan, &loaded.memory)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

// hello.elf (README): text R-X at vaddr 0x2b80, file offset 0x1b80, 0x33ff bytes;
// page-rounded mapping 0x2000..0x6000.
const HELLO_TEXT_VADDR: usize = 0x2b80;
const HELLO_TEXT_OFFSET: usize = 0x1b80;
const HELLO_TEXT_LEN: usize = 0x33ff;

fn hello_with(vaddr: usize, code: &[u8]) -> Vec<u8> {
    assert!(vaddr >= HELLO_TEXT_VADDR && vaddr + code.len() <= HELLO_TEXT_VADDR + HELLO_TEXT_LEN);
    let mut bytes = fixture("hello.elf");
    let at = HELLO_TEXT_OFFSET + (vaddr - HELLO_TEXT_VADDR);
    bytes[at..at + code.len()].copy_from_slice(code);
    bytes
}

#[test]
fn hello_as_loaded_holds_no_vmfunc() {
    assert_eq!(scan(&fixture("hello.elf")), Ok(()));
}

#[test]
fn attack_write_gate_as_built_before_its_fix_holds_vmfunc_in_an_immediate() {
    // 0x277c: c7 00 0f 01 d4 cc   mov dword ptr [rax], 0xccd4010f
    assert_eq!(
        scan(&fixture("attack-write-gate.elf")),
        Err(ImageProblem::VmfuncBytes { offset: 0x277e })
    );
}

#[test]
fn vmfunc_put_into_hello_is_found_where_it_is() {
    for vaddr in [
        HELLO_TEXT_VADDR,
        0x2fff,
        0x3000,
        0x4ffe,
        HELLO_TEXT_VADDR + HELLO_TEXT_LEN - 3,
    ] {
        assert_eq!(
            scan(&hello_with(vaddr, &[0x0F, 0x01, 0xD4])),
            Err(ImageProblem::VmfuncBytes {
                offset: vaddr as u64
            }),
            "at {vaddr:#x}"
        );
    }
    // The last two bytes of the code followed by the zero-filled page rounding: no.
    assert_eq!(
        scan(&hello_with(
            HELLO_TEXT_VADDR + HELLO_TEXT_LEN - 2,
            &[0x0F, 0x01]
        )),
        Ok(())
    );
}

/// hello's relocation table: (file offset of the first entry, number of entries).
fn hello_relocations(bytes: &[u8]) -> (usize, usize) {
    // DT_RELA / DT_RELASZ from the dynamic section (PT_DYNAMIC at file offset 0x5200).
    let dynamic = 0x5200;
    let (mut rela, mut relasz) = (None, None);
    for i in 0..(0xe0 / 16) {
        let tag = u64_at(bytes, dynamic + 16 * i);
        let val = u64_at(bytes, dynamic + 16 * i + 8);
        match tag {
            7 => rela = Some(val as usize),
            8 => relasz = Some(val as usize),
            _ => {}
        }
    }
    // DT_RELA is a vaddr in the first PT_LOAD, where file offset == vaddr.
    (rela.expect("DT_RELA"), relasz.expect("DT_RELASZ") / 24)
}

#[test]
fn a_relocation_of_hello_retargeted_into_its_code_is_refused() {
    let mut bytes = fixture("hello.elf");
    let (table, count) = hello_relocations(&bytes);
    assert_eq!(
        count, 75,
        "hello.elf has 75 R_X86_64_RELATIVE relocations (README)"
    );
    let last = table + 24 * (count - 1);
    bytes[last..last + 8].copy_from_slice(&0x3000u64.to_le_bytes());
    assert_eq!(
        scan(&bytes),
        Err(ImageProblem::RelocationInCode {
            index: count - 1,
            offset: 0x3000,
            segment: 2
        })
    );
}
