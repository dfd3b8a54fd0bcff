//! The slotted gate's per-view slot pages (docs/gates.md, DESIGN §6).
//!
//! Slot X (16 bytes at `gate::SLOTS + 16·X`) holds `VMFUNC` (`0F 01 D4`) in view X's copy
//! and `int3` (`CC`) in every other copy, followed in every copy by the landing pad
//! `mov r11d, X; jmp gate_land`. After `VMFUNC` at slot X the CPU continues at slot X + 3
//! in the *target's* copy, so the landing pad names the source, and that cannot be
//! forged: the only `0F 01 D4` in view X's executable memory is slot X (checked by
//! [`check_view`] over the slot pages and the common code as one buffer, across
//! instruction and page boundaries; `crate::view_scan` checks the whole view again).

use crate::scan::Scanner;
use tessera_abi::gate::{CODE, CODE_SIZE, SLOT_COUNT, SLOT_SIZE, SLOTS};

pub use crate::scan::VMFUNC;

// The slot pages and the common code are one contiguous executable range.
const _: () = assert!(CODE == SLOTS + 0x2000);
/// Bytes of slots per 4 KiB page.
pub const SLOTS_PER_PAGE: u64 = 0x1000 / SLOT_SIZE;
/// Offset of the landing pad inside a slot.
pub const LANDING: u64 = 3;

/// What went wrong building a slot page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateError {
    /// `land_offset` is not inside the common code area.
    BadLandingOffset,
    /// The page index is past the slot area.
    BadPage,
    /// A `VMFUNC` byte sequence occurs where it must not (offset from `gate::SLOTS`: the
    /// slot pages, then the common code).
    StrayVmfunc(usize),
    /// The view's own slot does not hold `VMFUNC`.
    MissingVmfunc,
    /// The common code is larger than its area (`gate::CODE_SIZE`).
    CodeTooLarge(usize),
}

/// The slot page `page` (0 or 1) as view `view` sees it (`None`: a view whose own slot
/// is not on this page, i.e. all `int3`s). `land_offset` is `gate_land`'s offset in the
/// common code.
pub fn slot_page(page: u64, view: Option<u64>, land_offset: u64) -> Result<[u8; 4096], GateError> {
    if page >= SLOT_COUNT / SLOTS_PER_PAGE {
        return Err(GateError::BadPage);
    }
    if land_offset >= tessera_abi::gate::CODE_SIZE {
        return Err(GateError::BadLandingOffset);
    }
    let land = CODE + land_offset;
    let mut bytes = [0xCCu8; 4096];
    for i in 0..SLOTS_PER_PAGE {
        let slot = page * SLOTS_PER_PAGE + i;
        let at = (i * SLOT_SIZE) as usize;
        if view == Some(slot) {
            bytes[at..at + 3].copy_from_slice(&VMFUNC);
        }
        // mov r11d, imm32 (REX.B + B8+r): 41 BB imm32.
        bytes[at + 3] = 0x41;
        bytes[at + 4] = 0xBB;
        bytes[at + 5..at + 9].copy_from_slice(&(slot as u32).to_le_bytes());
        // jmp rel32: E9 rel32, relative to the end of the instruction (slot + 14).
        let next = SLOTS + slot * SLOT_SIZE + 14;
        let rel = land.wrapping_sub(next) as i64 as i32;
        bytes[at + 9] = 0xE9;
        bytes[at + 10..at + 14].copy_from_slice(&rel.to_le_bytes());
    }
    Ok(bytes)
}

/// The slot page of `view` (the page holding its own slot).
pub fn own_page(view: u64) -> u64 {
    view / SLOTS_PER_PAGE
}

/// Checks view `view`'s executable gate bytes: its two slot pages and the common code,
/// which are contiguous in guest memory (`SLOTS .. CODE + CODE_SIZE`), scanned as one
/// buffer, hold `VMFUNC` exactly once, at slot `view`. The code area past `code` is zero
/// (fresh frames), which cannot complete a sequence.
pub fn check_view(view: u64, pages: [&[u8; 4096]; 2], code: &[u8]) -> Result<(), GateError> {
    if code.len() as u64 > CODE_SIZE {
        return Err(GateError::CodeTooLarge(code.len()));
    }
    let own = SLOTS + view * SLOT_SIZE;
    let mut seen_own = false;
    let mut stray = None;
    let mut note = |at: u64| {
        if at == own {
            seen_own = true;
        } else if stray.is_none() {
            stray = Some(at);
        }
    };
    let mut scanner = Scanner::new();
    scanner.feed(SLOTS, pages[0], &mut note);
    scanner.feed(SLOTS + 0x1000, pages[1], &mut note);
    scanner.feed(CODE, code, &mut note);
    match (stray, seen_own) {
        (Some(at), _) => Err(GateError::StrayVmfunc((at - SLOTS) as usize)),
        (None, false) => Err(GateError::MissingVmfunc),
        (None, true) => Ok(()),
    }
}

/// The view whose landing pad `rip` lies in, if it is one (slot offset ≥ 3): the source
/// of a switch that faulted right after landing (e.g. a single-step trap).
pub fn landing_source(rip: u64) -> Option<u64> {
    let off = rip.checked_sub(SLOTS)?;
    let slot = off / SLOT_SIZE;
    (slot < SLOT_COUNT && off % SLOT_SIZE >= LANDING).then_some(slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(view: u64, land: u64) -> [[u8; 4096]; 2] {
        let own = own_page(view);
        let p = |i| slot_page(i, (i == own).then_some(view), land).expect("page");
        [p(0), p(1)]
    }

    #[test]
    fn each_view_has_vmfunc_only_at_its_own_slot() {
        // Every view, several landing offsets (the rel32 bytes vary with them).
        for land in [0x40, 0x123, 0x1FF0] {
            for view in 0..SLOT_COUNT {
                let [a, b] = pages(view, land);
                assert_eq!(
                    check_view(view, [&a, &b], &[0x90; 64]),
                    Ok(()),
                    "view {view} land {land:#x}"
                );
            }
        }
    }

    #[test]
    fn landing_pad_decodes_to_source_and_jump() {
        let land = 0x80;
        let [a, _] = pages(5, land);
        let at = 5 * 16;
        assert_eq!(&a[at..at + 3], &VMFUNC);
        assert_eq!(&a[at + 3..at + 9], &[0x41, 0xBB, 5, 0, 0, 0]);
        let rel = i32::from_le_bytes([a[at + 10], a[at + 11], a[at + 12], a[at + 13]]);
        let target = (SLOTS + 5 * 16 + 14).wrapping_add(rel as i64 as u64);
        assert_eq!(target, CODE + land);
        // Another view's copy of slot 5 has int3s instead.
        let [other, _] = pages(6, land);
        assert_eq!(&other[at..at + 3], &[0xCC; 3]);
        assert_eq!(&other[at + 3..at + 14], &a[at + 3..at + 14]);
    }

    #[test]
    fn stray_vmfunc_in_code_is_refused() {
        let [a, b] = pages(0, 0x40);
        let mut code = [0x90u8; 32];
        code[7..10].copy_from_slice(&VMFUNC);
        assert_eq!(
            check_view(0, [&a, &b], &code),
            Err(GateError::StrayVmfunc(0x2000 + 7))
        );
        // A second VMFUNC in the slot pages (someone else's slot) is refused too.
        let b2 = slot_page(1, Some(300), 0x40).expect("page");
        assert_eq!(
            check_view(0, [&a, &b2], &[]),
            Err(GateError::StrayVmfunc(300 * 16))
        );
        // A view whose own slot lacks VMFUNC.
        let [none, _] = pages(300, 0x40);
        assert_eq!(
            check_view(0, [&none, &b], &[]),
            Err(GateError::MissingVmfunc)
        );
        assert_eq!(
            check_view(0, [&a, &b], &[0x90; 0x2001]),
            Err(GateError::CodeTooLarge(0x2001))
        );
    }

    #[test]
    fn vmfunc_across_the_page_and_code_boundaries_is_found() {
        // The slot pages end in padding that honest pages fill with int3; a sequence made
        // of the last bytes of a slot page and the first bytes of what follows counts.
        let [a, mut b] = pages(0, 0x40);
        b[4094..].copy_from_slice(&[0x0F, 0x01]);
        assert_eq!(
            check_view(0, [&a, &b], &[0xD4, 0x90]),
            Err(GateError::StrayVmfunc(0x2000 - 2))
        );
        let [mut a, b] = pages(0, 0x40);
        a[4095] = 0x0F;
        let mut b2 = b;
        b2[..2].copy_from_slice(&[0x01, 0xD4]);
        assert_eq!(
            check_view(0, [&a, &b2], &[]),
            Err(GateError::StrayVmfunc(0x1000 - 1))
        );
    }

    #[test]
    fn landing_sources() {
        assert_eq!(landing_source(SLOTS + 16 * 7 + 3), Some(7));
        assert_eq!(landing_source(SLOTS + 16 * 7 + 15), Some(7));
        assert_eq!(landing_source(SLOTS + 16 * 7), None);
        assert_eq!(landing_source(SLOTS + 16 * 7 + 1), None);
        assert_eq!(landing_source(CODE), None);
        assert_eq!(landing_source(SLOTS - 1), None);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert_eq!(slot_page(2, None, 0), Err(GateError::BadPage));
        assert_eq!(slot_page(0, None, 0x2000), Err(GateError::BadLandingOffset));
    }
}
