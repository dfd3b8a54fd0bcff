//! Fuzz target `image`: the compartment image validator (`tessera_core::image`), its
//! relocation checks, the loader model and the rogue-VMFUNC scan, against hermit-entry's
//! own loader (what the kernel runs on every image the validator accepts).
//!
//! Input: an ELF file. Properties: nothing panics; a refusal formats as a `@@REJECT`
//! line; an accepted image has a sane plan (ascending, disjoint, page-granular mappings
//! inside the span, never writable and executable, entry executable); hermit-entry
//! parses and loads it without panicking and leaves exactly the bytes core's model
//! (`image::load`) leaves; the scan's verdict is a pure function of those bytes.
#![no_main]

use core::mem::MaybeUninit;
use libfuzzer_sys::fuzz_target;
use tessera_core::image::{self, ImageLimits, ImageProblem, PAGE_SIZE};

/// Where images are loaded (the first region's base).
const BASE: u64 = 0x0100_0000;
/// Small enough that every accepted image is loaded twice per run without slowing it.
const LIMITS: ImageLimits = ImageLimits { max_span: 1 << 21 };

fuzz_target!(|data: &[u8]| {
    // A multiboot module is 8-byte aligned; so is this copy.
    let mut storage = vec![0u8; data.len() + 8];
    let start = (8 - storage.as_ptr().addr() % 8) % 8;
    storage[start..start + data.len()].copy_from_slice(data);
    let bytes = &storage[start..start + data.len()];

    let loaded = match image::load("fuzz", bytes, &LIMITS, BASE) {
        Ok(loaded) => loaded,
        Err(error) => {
            assert!(
                error
                    .reject_line()
                    .starts_with("@@REJECT module=fuzz problem=")
            );
            return;
        }
    };
    let plan = &loaded.plan;
    assert!(plan.span <= LIMITS.max_span && plan.mem_size <= plan.span);
    assert_eq!(loaded.memory.len() as u64, plan.span);
    let mut end = 0;
    for s in &plan.segments {
        assert!(s.offset >= end && s.offset % PAGE_SIZE == 0);
        assert!(s.len > 0 && s.len % PAGE_SIZE == 0);
        assert!(!(s.perms.write && s.perms.execute) && (s.perms.read || !s.perms.write));
        end = s.offset + s.len;
    }
    assert!(end <= plan.span);
    assert!(
        plan.segments
            .iter()
            .any(|s| s.perms.execute && (s.offset..s.offset + s.len).contains(&plan.entry_offset))
    );

    // hermit-entry on the same bytes: no panic, the same memory, the same entry.
    let object = hermit_entry::elf::KernelObject::parse(bytes).expect("validated images parse");
    let load_base = plan.fixed_base.unwrap_or(BASE);
    let mut memory = vec![MaybeUninit::new(0u8); plan.mem_size as usize];
    let hermit = object.load_kernel(&mut memory, load_base);
    assert_eq!(hermit.entry_point, load_base + plan.entry_offset);
    // SAFETY: every element was initialised (to 0) above and the loader only writes
    // initialised bytes; MaybeUninit<u8> has the layout of u8.
    let memory: &[u8] =
        unsafe { core::slice::from_raw_parts(memory.as_ptr().cast(), memory.len()) };
    let model = &loaded.memory[..memory.len()];
    if memory != model {
        let at = memory
            .iter()
            .zip(model)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "byte {at:#x}: hermit-entry {:#04x}, core's model {:#04x}",
            memory[at], model[at]
        );
    }
    // Past mem_size, up to the page-rounded span, the kernel's frames stay zero.
    assert!(loaded.memory[memory.len()..].iter().all(|&b| b == 0));

    match image::scan_loaded(plan, &loaded.memory) {
        Ok(()) => {}
        Err(ImageProblem::VmfuncBytes { offset }) => {
            let at = offset as usize;
            assert_eq!(&loaded.memory[at..at + 3], &[0x0F, 0x01, 0xD4]);
        }
        Err(other) => panic!("scan_loaded: {other}"),
    }
});
