//! Host tests of the case-module format.

use super::*;

fn sample() -> Case {
    let mut bytes = [0u8; MAX_BYTES];
    bytes[..4].copy_from_slice(&[0x2E, 0x0F, 0x01, 0xD4]);
    Case {
        rax: 0xDEAD_0000_0000,
        rcx: 7,
        bytes,
        len: 4,
        tf: true,
        movss: false,
        warm: true,
        entry: Some(EntryForm {
            ad: true,
            reserved: 0b10001,
            wide: true,
            ..EntryForm::plain(Tables::NextNx)
        }),
        start: Tables::NextUnmapped,
        place: Placement::Straddle(2),
    }
}

#[test]
fn cases_round_trip() {
    let plain = Case {
        entry: None,
        place: Placement::End,
        start: Tables::Base,
        ..sample()
    };
    let module = encode(&[sample(), plain]);
    assert_eq!(count(&module), Ok(2));
    assert_eq!(case(&module, 0), Some(sample()));
    assert_eq!(case(&module, 1), Some(plain));
    assert_eq!(case(&module, 2), None);
    assert_eq!(sample().instruction(), &[0x2E, 0x0F, 0x01, 0xD4]);
}

#[test]
fn bad_modules_are_refused() {
    assert_eq!(count(b"short"), Err(CasesError::Header));
    let mut module = encode(&[sample()]);
    module.push(0);
    assert_eq!(count(&module), Err(CasesError::Header));
    let mut module = encode(&[sample()]);
    module[HEADER + 40] = 0; // no instruction bytes
    assert_eq!(count(&module), Err(CasesError::Case(0)));
    let mut module = encode(&[sample()]);
    module[HEADER + 46] = 1; // a clone is no start view
    assert_eq!(count(&module), Err(CasesError::Case(0)));
}

#[test]
fn layouts_place_the_instruction_as_asked() {
    let mut c = Case {
        movss: true,
        ..sample()
    };
    assert_eq!(
        c.layout(),
        Layout {
            code: 0xFF2,
            instruction: 0xFFE,
            landing: 0x1002
        }
    );
    assert_eq!(
        c.code(),
        [
            0x9C, 0x48, 0x81, 0x0C, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9D, 0x8E, 0xD2, 0x2E, 0x0F,
            0x01, 0xD4, 0x0F, 0x01, 0xC1
        ]
    );
    c.place = Placement::End;
    assert_eq!(c.layout().landing, 0x1000);
    c.place = Placement::Middle;
    c.movss = false;
    c.tf = false;
    assert_eq!(c.layout().code, 0x800);
}

#[test]
fn entry_values_follow_the_eptp_layout() {
    let root = 0x1234_5000;
    assert_eq!(EntryForm::plain(Tables::Clone).value(root, 40), root | 0x1E);
    let e = EntryForm {
        memory_type: 0,
        walk: 5,
        ad: true,
        reserved: 0b00001,
        wide: true,
        ..EntryForm::plain(Tables::Clone)
    };
    assert_eq!(
        e.value(root, 40),
        root | (4 << 3) | (1 << 6) | (1 << 7) | (1 << 40)
    );
    let zero = EntryForm {
        zero: true,
        ..EntryForm::plain(Tables::Base)
    };
    assert_eq!(zero.value(root, 40), 0);
}
