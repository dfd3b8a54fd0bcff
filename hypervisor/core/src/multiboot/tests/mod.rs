//! Multiboot parsing over info blocks laid out in a `Vec` the way GRUB and QEMU lay them out.

// Lists of ranges that happen to hold one range are what these tests compare.
#![allow(clippy::single_range_in_vec_init)]

use super::*;
use alloc::vec;

/// RAM from `base` to `base + bytes.len()`; everything else unreadable.
#[derive(Clone)]
struct Ram {
    base: u64,
    bytes: Vec<u8>,
}

impl PhysMem for Ram {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let off = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        self.bytes.get(off..off.checked_add(len)?)
    }
}

const RAM_BASE: u64 = 0x8000;
const INFO: u32 = 0x9500;
const CMDLINE: u32 = 0xA000;
const MODS: u32 = 0xB000;
const MMAP: u32 = 0xC000;
const LOADER: u32 = 0xD000;
const MOD_STR: u32 = 0xE000;

impl Ram {
    fn new() -> Self {
        Ram {
            base: RAM_BASE,
            bytes: vec![0; 0x8000],
        }
    }

    fn put(&mut self, addr: u32, data: &[u8]) {
        let off = (u64::from(addr) - self.base) as usize;
        self.bytes[off..off + data.len()].copy_from_slice(data);
    }

    fn put32(&mut self, addr: u32, v: u32) {
        self.put(addr, &v.to_le_bytes());
    }

    fn cstr(&mut self, addr: u32, s: &str) {
        self.put(addr, s.as_bytes());
        self.put(addr + s.len() as u32, &[0]);
    }

    /// One mmap entry with the given `size` field (20 = GRUB and QEMU).
    fn mmap_entry(&mut self, at: u32, size: u32, base: u64, len: u64, kind: u32) -> u32 {
        self.put32(at, size);
        self.put(at + 4, &base.to_le_bytes());
        self.put(at + 12, &len.to_le_bytes());
        self.put32(at + 20, kind);
        at + 4 + size
    }
}

/// A QEMU `-kernel` boot: flags 0x24F (mem, boot device, cmdline, mods, mmap, loader name).
fn qemu_like() -> Ram {
    let mut ram = Ram::new();
    ram.put32(INFO, 1 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 6 | 1 << 9);
    ram.put32(INFO + 4, 639);
    ram.put32(INFO + 8, 261_056);
    ram.put32(INFO + 12, 0x8000_ffff);
    ram.put32(INFO + 16, CMDLINE);
    ram.cstr(
        CMDLINE,
        "/work/target/tessera.elf32 switch=emulate log=debug",
    );
    ram.put32(INFO + 20, 2);
    ram.put32(INFO + 24, MODS);
    for (i, (start, end, s)) in [
        (0x0010_7000u32, 0x0010_9321u32, "vault.elf vault"),
        (0x0010_a000, 0x0010_a000, "empty"),
    ]
    .iter()
    .enumerate()
    {
        let e = MODS + 16 * i as u32;
        let string = MOD_STR + 0x100 * i as u32;
        ram.put32(e, *start);
        ram.put32(e + 4, *end);
        ram.put32(e + 8, string);
        ram.cstr(string, s);
    }
    let mut at = MMAP;
    at = ram.mmap_entry(at, 20, 0, 0x9_fc00, 1);
    at = ram.mmap_entry(at, 20, 0x9_fc00, 0x400, 2);
    at = ram.mmap_entry(at, 20, 0xf_0000, 0x1_0000, 2);
    at = ram.mmap_entry(at, 20, 0x10_0000, 0x0fee_0000, 1);
    at = ram.mmap_entry(at, 20, 0x0ffe_0000, 0x2_0000, 2);
    at = ram.mmap_entry(at, 20, 0xfffc_0000, 0x4_0000, 2);
    ram.put32(INFO + 44, at - MMAP);
    ram.put32(INFO + 48, MMAP);
    ram.put32(INFO + 64, LOADER);
    ram.cstr(LOADER, "qemu");
    ram
}

fn parse(ram: &Ram) -> Result<BootInfo, MultibootError> {
    BootInfo::parse(BOOTLOADER_MAGIC, INFO, ram)
}

fn fails(ram: &Ram) -> MultibootError {
    parse(ram).expect_err("must be rejected")
}

mod errors;
mod props;

#[test]
fn parses_qemu_layout() {
    let info = parse(&qemu_like()).expect("parses");
    assert_eq!(
        info.cmdline.as_deref(),
        Some("/work/target/tessera.elf32 switch=emulate log=debug")
    );
    assert_eq!(
        (info.mem_lower_kib, info.mem_upper_kib),
        (Some(639), Some(261_056))
    );
    assert_eq!(info.bootloader.as_deref(), Some("qemu"));
    assert_eq!(
        info.modules,
        [
            Module {
                start: 0x10_7000,
                end: 0x10_9321,
                cmdline: String::from("vault.elf vault")
            },
            Module {
                start: 0x10_a000,
                end: 0x10_a000,
                cmdline: String::from("empty")
            },
        ]
    );
    assert_eq!(info.memory_map.len(), 6);
    assert_eq!(
        info.memory_map[3],
        MemoryRegion {
            base: 0x10_0000,
            len: 0x0fee_0000,
            kind: RegionKind::Available
        }
    );
    assert_eq!(info.memory_map[1].kind, RegionKind::Reserved);
    let s = |a: u32, len: u64| u64::from(a)..u64::from(a) + len;
    let want = [
        s(INFO, 116),
        s(CMDLINE, 52),
        s(MODS, 32),
        s(MOD_STR, 16),
        s(MOD_STR + 0x100, 6),
        s(MMAP, 144),
        s(LOADER, 5),
    ];
    assert_eq!(info.structures, want);
    assert_eq!(
        info.args(),
        [
            (String::from("switch"), Some(String::from("emulate"))),
            (String::from("log"), Some(String::from("debug")))
        ]
    );
}

#[test]
fn flags_zero_means_nothing() {
    let mut ram = qemu_like();
    ram.put32(INFO, 0);
    let info = parse(&ram).expect("parses");
    assert_eq!(
        info,
        BootInfo {
            structures: vec![u64::from(INFO)..u64::from(INFO) + 116],
            ..BootInfo::default()
        }
    );
    assert!(info.usable_memory_map().is_empty());
}

#[test]
fn mmap_with_larger_entries_and_odd_types() {
    let mut ram = qemu_like();
    let mut at = MMAP;
    at = ram.mmap_entry(at, 24, 0x10_0000, 0x10_0000, 1);
    at = ram.mmap_entry(at, 20, 0x20_0000, 0x1000, 3);
    at = ram.mmap_entry(at, 20, 0x20_1000, 0x1000, 4);
    at = ram.mmap_entry(at, 20, 0x20_2000, 0x1000, 5);
    at = ram.mmap_entry(at, 20, 0x20_3000, 0x1000, 12);
    ram.put32(INFO + 44, at - MMAP);
    let kinds: Vec<RegionKind> = parse(&ram)
        .expect("parses")
        .memory_map
        .iter()
        .map(|r| r.kind)
        .collect();
    use RegionKind::*;
    assert_eq!(kinds, [Available, AcpiReclaimable, Nvs, Bad, Other(12)]);
}

#[test]
fn fallback_memory_map_from_mem_fields() {
    let mut ram = qemu_like();
    ram.put32(INFO, 1);
    let map = parse(&ram).expect("parses").usable_memory_map();
    assert_eq!(
        map,
        [
            MemoryRegion {
                base: 0,
                len: 639 * 1024,
                kind: RegionKind::Available
            },
            MemoryRegion {
                base: 1 << 20,
                len: 261_056 * 1024,
                kind: RegionKind::Available
            },
        ]
    );
}

#[test]
fn cmdline_splitting() {
    let owned = |v: &[(&str, Option<&str>)]| -> Vec<(String, Option<String>)> {
        v.iter()
            .map(|(k, v)| (String::from(*k), v.map(String::from)))
            .collect()
    };
    assert_eq!(
        parse_cmdline("/boot/tessera.elf a=1 b  c="),
        owned(&[("a", Some("1")), ("b", None), ("c", Some(""))])
    );
    assert_eq!(
        parse_cmdline("debug x=/a/b"),
        owned(&[("debug", None), ("x", Some("/a/b"))])
    );
    assert_eq!(
        parse_cmdline("path=/a/b"),
        owned(&[("path", Some("/a/b"))]),
        "a key=value is never skipped"
    );
    assert_eq!(parse_cmdline("  \t "), owned(&[]));
    assert_eq!(parse_cmdline("k=v=w"), owned(&[("k", Some("v=w"))]));
}
