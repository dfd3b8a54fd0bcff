//! An executable model of `VMFUNC` (VMFUNC-SEMANTICS.md; Intel SDM Vol. 2B "VMFUNC—Invoke
//! VM function", Vol. 3C "EPTP Switching"). The emulation path runs exactly this, against
//! the same EPTP list and capability limits the hardware path uses.

use crate::paging::{EptpRules, validate_eptp};

/// Everything the outcome depends on.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// Full RAX and RCX: only EAX and ECX count (the upper halves must not matter).
    pub rax: u64,
    pub rcx: u64,
    /// Secondary control "enable VM functions" (bit 13) as the guest sees it.
    pub enabled: bool,
    /// The VM-function controls (VMCS 0x2018): bit N enables function N.
    pub controls: u64,
    /// The EPTP list: 512 entries.
    pub list: &'a [u64; 512],
    /// The EPTP in use before the instruction.
    pub current: u64,
    /// The EPTP checks of this CPU.
    pub rules: EptpRules,
    /// Apply the newer SDM rule that a switch may not change the page-walk length.
    pub same_walk_length: bool,
}

/// What `VMFUNC` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// #UD in the guest.
    Ud,
    /// VM exit, basic reason 59 (the instruction length is saved, no qualification).
    Exit59,
    /// EPTP ← `eptp`; EPTP-index ← `index` (where #VE exists); RIP += the instruction's
    /// length ([`decode_ud`]); nothing else.
    Switch { eptp: u64, index: u16 },
}

/// Page-walk length − 1 of an EPTP (bits 5:3).
fn walk(eptp: u64) -> u64 {
    (eptp >> 3) & 7
}

/// The outcome of `VMFUNC` for `inputs` (order of evaluation as in the SDM).
#[inline]
pub fn execute(inputs: &Inputs<'_>) -> Outcome {
    execute_known(inputs, 0)
}

/// [`execute`], given `valid`: a list-entry value the EPTP checks already accepted under
/// `inputs.rules` (0: none). The checks are a pure function of the value and the rules,
/// so the outcome is [`execute`]'s (tested); an entry equal to `valid` is not checked
/// again. The emulated switch remembers each slot's last accepted entry, so its usual
/// switch skips the checks.
#[inline]
pub fn execute_known(inputs: &Inputs<'_>, valid: u64) -> Outcome {
    let eax = inputs.rax as u32;
    // 1. #UD: "enable VM functions" is 0, or EAX >= 64 (we are in VMX non-root).
    if !inputs.enabled || eax >= 64 {
        return Outcome::Ud;
    }
    // 2. Exit 59 if the function is not enabled in the VM-function controls.
    if inputs.controls & (1u64 << eax) == 0 {
        return Outcome::Exit59;
    }
    // Only function 0 (EPTP switching) exists; any other enabled bit is a function the
    // CPU does not implement, which the VM-entry checks refuse; treat it as exit 59.
    if eax != 0 {
        return Outcome::Exit59;
    }
    // 3. EPTP switching.
    let ecx = inputs.rcx as u32;
    let Some(&tentative) = inputs.list.get(ecx as usize) else {
        return Outcome::Exit59;
    };
    if (tentative != valid || valid == 0) && validate_eptp(tentative, &inputs.rules).is_err() {
        return Outcome::Exit59;
    }
    if inputs.same_walk_length && walk(tentative) != walk(inputs.current) {
        return Outcome::Exit59;
    }
    Outcome::Switch {
        eptp: tentative,
        index: ecx as u16,
    }
}

mod fast;
mod ud;
pub use fast::{Fast, fast_switch};
pub use ud::{MAX_LEN, UdInstruction, decode_ud};

#[cfg(test)]
mod tests {
    use super::*;

    const WB4: u64 = 0x6 | (3 << 3);

    fn rules() -> EptpRules {
        EptpRules {
            wb: true,
            uc: true,
            walk4: true,
            walk5: false,
            ad: false,
            maxphyaddr: 40,
            supervisor_shadow_stack: false,
        }
    }

    fn list() -> [u64; 512] {
        let mut l = [0u64; 512];
        l[0] = 0x10_0000 | WB4;
        l[1] = 0x20_0000 | WB4;
        l[511] = 0x30_0000 | WB4;
        l[2] = 0x40_0000 | (3 << 3) | 1; // memory type 1
        l[3] = 0x40_0000 | 0x6 | (2 << 3); // 3-level walk
        l[4] = 0x40_0000 | WB4 | (1 << 6); // A/D without support
        l[5] = 0x40_0000 | WB4 | (1 << 8); // reserved bit
        l[6] = (1 << 45) | WB4; // beyond MAXPHYADDR
        l
    }

    fn run(rax: u64, rcx: u64) -> Outcome {
        let l = list();
        execute(&Inputs {
            rax,
            rcx,
            enabled: true,
            controls: 1,
            list: &l,
            current: l[0],
            rules: rules(),
            same_walk_length: false,
        })
    }

    #[test]
    fn conformance_table() {
        assert_eq!(
            run(0, 1),
            Outcome::Switch {
                eptp: list()[1],
                index: 1
            }
        ); // 1
        assert_eq!(
            run(0, 0),
            Outcome::Switch {
                eptp: list()[0],
                index: 0
            }
        ); // 2
        assert_eq!(
            run(0, 511),
            Outcome::Switch {
                eptp: list()[511],
                index: 511
            }
        ); // 3
        assert_eq!(run(0, 512), Outcome::Exit59); // 4
        assert_eq!(run(0, 0xFFFF_FFFF), Outcome::Exit59); // 5
        assert_eq!(run(0, 7), Outcome::Exit59); // 6: empty slot
        assert_eq!(run(0, 2), Outcome::Exit59); // 7
        assert_eq!(run(0, 3), Outcome::Exit59); // 8
        assert_eq!(run(0, 4), Outcome::Exit59); // 9 (no A/D here)
        assert_eq!(run(0, 5), Outcome::Exit59); // 10
        assert_eq!(run(0, 6), Outcome::Exit59); // 11
        assert_eq!(run(1, 0), Outcome::Exit59); // 13
        assert_eq!(run(63, 0), Outcome::Exit59); // 14
        assert_eq!(run(64, 0), Outcome::Ud); // 15
        assert_eq!(run(0xFFFF_FFFF, 0), Outcome::Ud); // 16
        // Upper halves do not count.
        assert_eq!(run(0xDEAD_BEEF_0000_0000, 0x1234_5678_0000_0001), run(0, 1));
        assert_eq!(run(0xFFFF_FFFF_0000_0040, 0), Outcome::Ud);
    }

    #[test]
    fn disabled_is_ud_and_ad_switches_where_supported() {
        let l = list();
        let mut i = Inputs {
            rax: 0,
            rcx: 1,
            enabled: false,
            controls: 1,
            list: &l,
            current: l[0],
            rules: rules(),
            same_walk_length: false,
        };
        assert_eq!(execute(&i), Outcome::Ud);
        i.enabled = true;
        i.controls = 0;
        assert_eq!(execute(&i), Outcome::Exit59);
        i.controls = 1;
        i.rcx = 4;
        i.rules.ad = true;
        assert_eq!(
            execute(&i),
            Outcome::Switch {
                eptp: l[4],
                index: 4
            }
        );
    }
}
