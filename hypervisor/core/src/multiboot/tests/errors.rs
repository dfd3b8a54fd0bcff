//! Multiboot information the parser refuses, each with the error that names it.

use super::*;

#[test]
fn bad_magic() {
    let e = BootInfo::parse(0x36d7_6289, INFO, &qemu_like()).expect_err("multiboot2 magic");
    assert_eq!(
        e,
        MultibootError {
            field: Field::Magic,
            problem: Problem::BadMagic(0x36d7_6289)
        }
    );
}

#[test]
fn info_block_unreadable() {
    let e = BootInfo::parse(BOOTLOADER_MAGIC, 0x10, &qemu_like()).expect_err("below RAM");
    assert_eq!(e.field, Field::InfoBlock);
    let mut ram = qemu_like();
    ram.bytes
        .truncate((u64::from(INFO) - RAM_BASE) as usize + 40);
    assert_eq!(
        fails(&ram).field,
        Field::InfoBlock,
        "flags need 68 bytes, 40 readable"
    );
}

#[test]
fn cmdline_errors() {
    let mut ram = qemu_like();
    ram.put(CMDLINE, &[b'a', 0xff, 0xfe, 0]);
    assert_eq!(
        fails(&ram),
        MultibootError {
            field: Field::Cmdline,
            problem: Problem::InvalidUtf8
        }
    );
    let mut ram = qemu_like();
    ram.put(CMDLINE, &[b'x'; MAX_STRING_LEN + 1]);
    assert_eq!(
        fails(&ram),
        MultibootError {
            field: Field::Cmdline,
            problem: Problem::StringTooLong
        }
    );
    let mut ram = qemu_like();
    ram.put(CMDLINE, &[b'x'; MAX_STRING_LEN]);
    ram.put(CMDLINE + MAX_STRING_LEN as u32, &[0]);
    assert_eq!(
        parse(&ram)
            .expect("exactly the limit")
            .cmdline
            .map(|c| c.len()),
        Some(MAX_STRING_LEN)
    );
    let mut ram = qemu_like();
    ram.put32(INFO + 16, 0xFFFF_FFF0);
    assert!(matches!(
        fails(&ram),
        MultibootError {
            field: Field::Cmdline,
            problem: Problem::Unreadable { .. }
        }
    ));
}

#[test]
fn string_ending_at_end_of_ram() {
    let mut ram = qemu_like();
    let at = (RAM_BASE as usize + ram.bytes.len() - 3) as u32;
    ram.cstr(at, "ok");
    ram.put32(INFO + 64, at);
    assert_eq!(
        parse(&ram).expect("parses").bootloader.as_deref(),
        Some("ok")
    );
    ram.put(at + 2, b"!");
    assert!(matches!(
        fails(&ram),
        MultibootError {
            field: Field::BootloaderName,
            problem: Problem::Unreadable { .. }
        }
    ));
}

#[test]
fn module_errors() {
    let mut ram = qemu_like();
    ram.put32(MODS + 16 + 4, 0x10_0000);
    let e = fails(&ram);
    assert_eq!(
        e,
        MultibootError {
            field: Field::Module(1),
            problem: Problem::EndBeforeStart {
                start: 0x10_a000,
                end: 0x10_0000
            }
        }
    );
    assert!(alloc::format!("{e}").contains("mods[1]"));
    let mut ram = qemu_like();
    ram.put(MOD_STR + 0x100, &[0xC0, 0]);
    assert_eq!(fails(&ram).field, Field::ModuleString(1));
    let mut ram = qemu_like();
    ram.put32(INFO + 20, MAX_MODULES + 1);
    assert_eq!(
        fails(&ram),
        MultibootError {
            field: Field::Modules,
            problem: Problem::TooLarge(u64::from(MAX_MODULES) + 1)
        }
    );
    let mut ram = qemu_like();
    ram.put32(INFO + 24, 0x7FF8);
    assert_eq!(fails(&ram).field, Field::Modules);
    let mut ram = qemu_like();
    ram.put32(MODS + 8, 0);
    assert_eq!(
        parse(&ram).expect("null string is empty").modules[0].cmdline,
        ""
    );
}

#[test]
fn mmap_errors() {
    let mut ram = qemu_like();
    ram.put32(MMAP + 24 * 2, 200);
    let e = fails(&ram);
    assert_eq!(
        e,
        MultibootError {
            field: Field::MemoryMapEntry(2),
            problem: Problem::EntryOverrun { offset: 48 }
        }
    );
    let mut ram = qemu_like();
    ram.put32(MMAP + 24, 8);
    assert_eq!(
        fails(&ram),
        MultibootError {
            field: Field::MemoryMapEntry(1),
            problem: Problem::EntryTooSmall(8)
        }
    );
    let mut ram = qemu_like();
    ram.put32(INFO + 44, 24 * 6 + 2);
    assert_eq!(
        fails(&ram).problem,
        Problem::EntryOverrun { offset: 144 },
        "2 trailing bytes"
    );
    let mut ram = qemu_like();
    ram.put(MMAP + 4, &u64::MAX.to_le_bytes());
    assert_eq!(
        fails(&ram),
        MultibootError {
            field: Field::MemoryMapEntry(0),
            problem: Problem::RegionOverflow
        }
    );
    let mut ram = qemu_like();
    ram.put32(INFO + 44, MAX_MMAP_BYTES + 1);
    assert_eq!(fails(&ram).field, Field::MemoryMap);
}
