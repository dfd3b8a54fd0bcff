//! ACPI MADT discovery (`tessera_core::acpi`) on tables built here and on tables recorded
//! from Bochs (`cpu: count=2`) and QEMU (`-smp 2`): `tests/fixtures/acpi/`.

use std::collections::BTreeMap;
use tessera_core::acpi::{self, AcpiError, HEADER_LEN};
use tessera_core::multiboot::PhysMem;

/// Physical memory with a few regions filled in; everything else is unreadable.
#[derive(Default)]
struct Sparse(BTreeMap<u64, Vec<u8>>);

impl PhysMem for Sparse {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let (&base, bytes) = self.0.range(..=addr).next_back()?;
        let off = usize::try_from(addr - base).ok()?;
        bytes.get(off..off.checked_add(len)?)
    }
}

fn fix_checksum(bytes: &mut [u8], at: usize, over: usize) {
    bytes[at] = 0;
    let sum = bytes[..over].iter().fold(0u8, |a, b| a.wrapping_add(*b));
    bytes[at] = 0u8.wrapping_sub(sum);
}

fn sdt(sig: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; HEADER_LEN];
    t[..4].copy_from_slice(sig);
    t[4..8].copy_from_slice(&((HEADER_LEN + body.len()) as u32).to_le_bytes());
    t[8] = 1;
    t.extend_from_slice(body);
    let len = t.len();
    fix_checksum(&mut t, 9, len);
    t
}

fn rsdp(rsdt: u32, xsdt: Option<u64>) -> Vec<u8> {
    let mut r = vec![0u8; 36];
    r[..8].copy_from_slice(b"RSD PTR ");
    r[15] = if xsdt.is_some() { 2 } else { 0 };
    r[16..20].copy_from_slice(&rsdt.to_le_bytes());
    fix_checksum(&mut r, 8, 20);
    if let Some(x) = xsdt {
        r[20..24].copy_from_slice(&36u32.to_le_bytes());
        r[24..32].copy_from_slice(&x.to_le_bytes());
        fix_checksum(&mut r, 32, 36);
    } else {
        r.truncate(20);
    }
    r
}

/// A MADT with one type-0 entry per (apic id, flags), and an I/O APIC entry between.
fn madt(cpus: &[(u8, u32)]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0xFEE0_0000u32.to_le_bytes());
    body.extend_from_slice(&1u32.to_le_bytes());
    for (i, &(id, flags)) in cpus.iter().enumerate() {
        body.extend_from_slice(&[0, 8, i as u8, id]);
        body.extend_from_slice(&flags.to_le_bytes());
        if i == 0 {
            body.extend_from_slice(&[1, 12, 0, 0, 0, 0, 0xC0, 0xFE, 0, 0, 0, 0]);
        }
    }
    sdt(b"APIC", &body)
}

fn machine(cpus: &[(u8, u32)], xsdt: bool, in_ebda: bool) -> Sparse {
    let mut m = Sparse::default();
    let rsdp_at = if in_ebda { 0x9_FC10 } else { 0xF_6A30 };
    m.0.insert(0x40E, (0x9FC0u16).to_le_bytes().to_vec());
    m.0.insert(0x0FFF_2000, madt(cpus));
    if xsdt {
        m.0.insert(0x0FFF_1000, sdt(b"XSDT", &0x0FFF_2000u64.to_le_bytes()));
        m.0.insert(rsdp_at, rsdp(0xDEAD, Some(0x0FFF_1000)));
    } else {
        let mut body = 0x0FFF_3000u32.to_le_bytes().to_vec(); // another table first
        body.extend_from_slice(&0x0FFF_2000u32.to_le_bytes());
        m.0.insert(0x0FFF_3000, sdt(b"FACP", &[0; 8]));
        m.0.insert(0x0FFF_1000, sdt(b"RSDT", &body));
        m.0.insert(rsdp_at, rsdp(0x0FFF_1000, None));
    }
    m
}

#[test]
fn finds_the_cpus_through_the_rsdt_or_the_xsdt_in_the_ebda_or_the_bios_area() {
    for (xsdt, in_ebda) in [(false, false), (false, true), (true, false), (true, true)] {
        let m = machine(&[(0, 1), (1, 1), (4, 0)], xsdt, in_ebda);
        let found = acpi::find_madt(&m, &[]).unwrap();
        assert_eq!(found.rsdp.addr, if in_ebda { 0x9_FC10 } else { 0xF_6A30 });
        let ids: Vec<(u32, bool)> = found
            .madt
            .cpus
            .iter()
            .map(|c| (c.apic_id, c.enabled))
            .collect();
        assert_eq!(ids, [(0, true), (1, true), (4, false)]);
        assert_eq!(found.madt.lapic_base, 0xFEE0_0000);
        assert_eq!(found.tables.len(), 2);
    }
}

#[test]
fn every_checksum_and_signature_is_checked() {
    let mut m = machine(&[(0, 1)], false, false);
    m.0.get_mut(&0x0FFF_2000).unwrap()[40] ^= 1;
    assert_eq!(
        acpi::find_madt(&m, &[]),
        Err(AcpiError::Checksum { addr: 0x0FFF_2000 })
    );
    let mut m = machine(&[(0, 1)], false, false);
    m.0.get_mut(&0xF_6A30).unwrap()[16] ^= 1; // RSDP checksum broken: not found
    assert_eq!(acpi::find_madt(&m, &[]), Err(AcpiError::NoRsdp));
    let mut m = machine(&[(0, 1)], true, false);
    m.0.get_mut(&0x0FFF_1000).unwrap()[0] = b'Y';
    assert!(matches!(
        acpi::find_madt(&m, &[]),
        Err(AcpiError::Signature { .. })
    ));
    let mut m = machine(&[(0, 1)], false, false);
    m.0.insert(0x0FFF_2000, sdt(b"APIX", &[0; 8]));
    assert_eq!(acpi::find_madt(&m, &[]), Err(AcpiError::NoMadt));
}

#[test]
fn bad_entries_and_lengths_are_refused_not_read_past() {
    let mut body = vec![0u8; 8];
    body.extend_from_slice(&[0, 8, 0, 0, 1, 0, 0, 0, 0, 0]); // a zero-length entry
    assert_eq!(
        acpi::parse_madt(0, &sdt(b"APIC", &body)),
        Err(AcpiError::BadEntry {
            offset: HEADER_LEN + 16
        })
    );
    let mut body = vec![0u8; 8];
    body.extend_from_slice(&[9, 40, 0, 0]); // runs past the end
    assert!(acpi::parse_madt(0, &sdt(b"APIC", &body)).is_err());
    let mut m = machine(&[(0, 1)], false, false);
    let t = m.0.get_mut(&0x0FFF_2000).unwrap();
    t[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        acpi::find_madt(&m, &[]),
        Err(AcpiError::Unreadable { .. })
    ));
}

#[test]
fn x2apic_entries_and_the_address_override_count() {
    let mut body = vec![0u8; 8];
    body.extend_from_slice(&[9, 16, 0, 0]);
    body.extend_from_slice(&300u32.to_le_bytes());
    body.extend_from_slice(&1u32.to_le_bytes());
    body.extend_from_slice(&7u32.to_le_bytes());
    body.extend_from_slice(&[5, 12, 0, 0]);
    body.extend_from_slice(&0xFED0_0000u64.to_le_bytes());
    let madt = acpi::parse_madt(0, &sdt(b"APIC", &body)).unwrap();
    assert_eq!(madt.cpus[0].apic_id, 300);
    assert_eq!(madt.cpus[0].uid, 7);
    assert_eq!(madt.lapic_base, 0xFED0_0000);
}

#[test]
fn the_boot_cpu_comes_first_and_cpus_limits_the_count() {
    let m = machine(&[(1, 1), (0, 1), (2, 0), (3, 1)], false, false);
    let madt = acpi::find_madt(&m, &[]).unwrap().madt;
    assert_eq!(acpi::chosen(&madt, 0, None), [0, 1, 3]);
    assert_eq!(acpi::chosen(&madt, 0, Some(2)), [0, 1]);
    assert_eq!(acpi::chosen(&madt, 0, Some(0)), [0]);
}

/// The tables of one recorded boot, laid out at their addresses.
fn recorded(text: &str) -> Sparse {
    let mut m = Sparse::default();
    for line in text.lines().filter(|l| !l.contains(" memory=")) {
        let field = |key: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key} in {line}"))
        };
        let addr = u64::from_str_radix(field("addr=").trim_start_matches("0x"), 16).unwrap();
        let hex = field("bytes=");
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        m.0.insert(addr, bytes);
    }
    m
}

#[test]
fn bochs_with_two_cpus_reports_apic_ids_0_and_1() {
    let m = recorded(include_str!("fixtures/acpi/bochs-tigerlake-smp2.txt"));
    let found = acpi::find_madt(&m, &[]).unwrap();
    assert_eq!(found.rsdp.revision, 0, "Bochs' BIOS: ACPI 1.0, an RSDT");
    let ids: Vec<u32> = found.madt.enabled().map(|c| c.apic_id).collect();
    assert_eq!(ids, [0, 1]);
    assert_eq!(found.madt.lapic_base, 0xFEE0_0000);
    assert_eq!(acpi::chosen(&found.madt, 0, None), [0, 1]);
}

#[test]
fn qemu_with_two_cpus_reports_apic_ids_0_and_1() {
    let m = recorded(include_str!("fixtures/acpi/qemu-smp2.txt"));
    let found = acpi::find_madt(&m, &[]).unwrap();
    let ids: Vec<u32> = found.madt.enabled().map(|c| c.apic_id).collect();
    assert_eq!(ids, [0, 1]);
    assert_eq!(acpi::chosen(&found.madt, 0, Some(1)), [0]);
}

/// The `@@RAW acpi memory=START..END` ranges of one recorded boot.
fn acpi_memory(text: &str) -> Vec<std::ops::Range<u64>> {
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    text.lines()
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("memory=")))
        .map(|r| {
            let (start, end) = r.split_once("..").unwrap();
            hex(start)..hex(end)
        })
        .collect()
}

#[test]
fn ovmf_leaves_the_rsdp_in_acpi_memory_of_the_map_not_in_the_bios_area() {
    let text = include_str!("fixtures/acpi/ovmf-smp2.txt");
    let m = recorded(text);
    assert_eq!(acpi::find_madt(&m, &[]), Err(AcpiError::NoRsdp));
    let ranges = acpi_memory(text);
    assert_eq!(ranges.len(), 6, "the recorded map's ACPI ranges");
    let found = acpi::find_madt(&m, &ranges).unwrap();
    assert_eq!(found.rsdp.addr, 0x1f77_e000);
    let ids: Vec<u32> = found.madt.enabled().map(|c| c.apic_id).collect();
    assert_eq!(ids, [0, 1]);
    // Not found when the range that holds it is left out.
    let without: Vec<_> = ranges
        .into_iter()
        .filter(|r| !r.contains(&0x1f77_e000))
        .collect();
    assert_eq!(acpi::find_madt(&m, &without), Err(AcpiError::NoRsdp));
}

#[test]
fn a_recorded_table_with_one_bit_flipped_is_refused() {
    let mut m = recorded(include_str!("fixtures/acpi/qemu-smp2.txt"));
    let madt = acpi::find_madt(&m, &[]).unwrap().madt.addr;
    m.0.get_mut(&madt).unwrap()[HEADER_LEN + 12] ^= 0x40;
    assert_eq!(
        acpi::find_madt(&m, &[]),
        Err(AcpiError::Checksum { addr: madt })
    );
}
