//! Property tests of image validation: the real `hello` compartment, mutated (bit flips,
//! truncations, header and table fields overwritten with edge values). `validate` must
//! never panic, and whenever it accepts, its plan must be internally consistent and agree
//! with the image's own `PT_LOAD` headers, read here by an independent decoder.

use proptest::prelude::*;
use tessera_core::image::{ImageLimits, ImagePlan, PAGE_SIZE, validate};

const MAX_SPAN: u64 = 16 << 20;

fn fixture() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/elf/hello.elf");
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Offsets of the structures of `hello.elf` the loader reads (from `readelf -lSd`):
/// file header, program headers, the entry-version and ABI-version notes, the relocation
/// table, the dynamic section, and the section headers at the end of the file.
const HOT_SPOTS: [(usize, usize); 6] = [
    (0, 64),
    (64, 64 + 10 * 56),
    (0x270, 0x2a0),
    (0x2e8, 0x9f0),
    (0x5200, 0x52e0),
    (0x7190, 0x76d0),
];

#[derive(Clone, Debug)]
enum Mutation {
    /// Flip one bit anywhere (position taken modulo the length).
    Flip { at: usize, bit: u8 },
    /// Cut the file to a prefix (length taken modulo the length + 1).
    Truncate { len: usize },
    /// Overwrite a 1-, 2-, 4- or 8-byte little-endian field inside a hot spot with an
    /// edge value.
    Field {
        spot: usize,
        at: usize,
        width: usize,
        value: u64,
    },
}

fn edge_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(8),
        Just(24),
        Just(0x1000),
        Just(u64::MAX),
        Just(i64::MAX as u64),
        Just(0x8000_0000_0000_0000),
        (0u32..64).prop_map(|s| 1u64 << s),
        (0u32..64).prop_map(|s| (1u64 << s).wrapping_sub(1)),
        0u64..0x2_0000,
        any::<u64>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
        (
            0..HOT_SPOTS.len(),
            any::<usize>(),
            prop::sample::select(vec![1usize, 2, 4, 8]),
            edge_value()
        )
            .prop_map(|(spot, at, width, value)| Mutation::Field {
                spot,
                at,
                width,
                value
            }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    match *m {
        Mutation::Flip { at, bit } => {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= 1 << bit;
            }
        }
        Mutation::Truncate { len } => bytes.truncate(len % (bytes.len() + 1)),
        Mutation::Field {
            spot,
            at,
            width,
            value,
        } => {
            let (start, end) = HOT_SPOTS[spot];
            let at = start + at % (end - start);
            if at + width <= bytes.len() {
                bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
            }
        }
    }
}

/// `bytes` copied to an 8-byte-aligned address, as a multiboot module is placed.
fn aligned(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut storage = vec![0u8; bytes.len() + 8];
    let start = (8 - storage.as_ptr().addr() % 8) % 8;
    storage[start..start + bytes.len()].copy_from_slice(bytes);
    (storage, start)
}

fn le(bytes: &[u8], at: usize, width: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf[..width].copy_from_slice(&bytes[at..at + width]);
    u64::from_le_bytes(buf)
}

/// `(vaddr, memsz, flags)` of every PT_LOAD, decoded independently of the validator
/// (only called on accepted images, whose headers are known to be in bounds).
fn loads(bytes: &[u8]) -> Vec<(u64, u64, u64)> {
    let phoff = le(bytes, 32, 8) as usize;
    let phnum = le(bytes, 56, 2) as usize;
    (0..phnum)
        .map(|i| phoff + i * 56)
        .filter(|&ph| le(bytes, ph, 4) == 1)
        .map(|ph| {
            (
                le(bytes, ph + 16, 8),
                le(bytes, ph + 40, 8),
                le(bytes, ph + 4, 4),
            )
        })
        .collect()
}

fn assert_consistent(plan: &ImagePlan, bytes: &[u8]) {
    assert!(
        plan.span % PAGE_SIZE == 0 && plan.span <= MAX_SPAN,
        "{plan:?}"
    );
    assert!(plan.mem_size <= plan.span && plan.span - plan.mem_size < PAGE_SIZE);
    assert!(plan.align.is_power_of_two() && plan.align >= PAGE_SIZE);
    assert!(!plan.segments.is_empty());
    let mut prev_end = 0;
    for s in &plan.segments {
        assert!(
            s.offset % PAGE_SIZE == 0 && s.len % PAGE_SIZE == 0 && s.len > 0,
            "{s:?}"
        );
        assert!(
            s.offset >= prev_end,
            "segments overlap or are unsorted: {plan:?}"
        );
        prev_end = s.offset + s.len;
        assert!(prev_end <= plan.span, "segment outside span: {plan:?}");
        assert!(!(s.perms.write && s.perms.execute), "W+X: {plan:?}");
        assert!(
            s.perms.read || !s.perms.write,
            "write without read: {plan:?}"
        );
        assert!(s.perms.read || s.perms.write || s.perms.execute);
    }
    assert!(
        plan.segments.iter().any(|s| s.perms.execute
            && s.offset <= plan.entry_offset
            && plan.entry_offset < s.offset + s.len),
        "entry not in an executable segment: {plan:?}"
    );
    // Every byte of every PT_LOAD is mapped, with exactly its own permissions.
    let base = plan.fixed_base.unwrap_or(0);
    for (vaddr, memsz, flags) in loads(bytes) {
        let (start, end) = (vaddr - base, vaddr - base + memsz);
        let seg = plan
            .segments
            .iter()
            .find(|s| s.offset <= start && end <= s.offset + s.len)
            .unwrap_or_else(|| panic!("PT_LOAD {vaddr:#x}+{memsz:#x} not covered: {plan:?}"));
        let p = seg.perms;
        assert_eq!(
            (p.read, p.write, p.execute),
            (flags & 4 != 0, flags & 2 != 0, flags & 1 != 0)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn mutated_hello_never_panics_and_accepted_plans_are_consistent(
        mutations in prop::collection::vec(mutation(), 1..5)
    ) {
        let mut bytes = fixture();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let (storage, start) = aligned(&bytes);
        let image = &storage[start..start + bytes.len()];
        if let Ok(plan) = validate("hello", image, &ImageLimits { max_span: MAX_SPAN }) {
            assert_consistent(&plan, image);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (storage, start) = aligned(&bytes);
        let _ = validate("noise", &storage[start..start + bytes.len()], &ImageLimits { max_span: MAX_SPAN });
    }
}

#[test]
fn unmutated_fixture_is_consistent() {
    let bytes = fixture();
    let (storage, start) = aligned(&bytes);
    let image = &storage[start..start + bytes.len()];
    let plan = validate("hello", image, &ImageLimits { max_span: MAX_SPAN }).expect("accepted");
    assert_consistent(&plan, image);
}
