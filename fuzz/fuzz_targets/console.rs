//! Fuzz target: the console sanitiser and budget (`tessera_core::console`), fed arbitrary
//! bytes in arbitrary pieces with an arbitrary budget. Checks what the host property tests
//! (hypervisor/core/tests/console_props.rs) check: every printed line is the prefix plus
//! inert text, escaping is reversible and measured exactly, no line costs more than
//! `MAX_LINE_COST`, the budget is never exceeded, `@@TRUNCATED` comes once and last.
//!
//! Input: byte 0 picks the budget (a power of two, or unlimited), byte 1 the size of the
//! pieces the rest is written in.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::console::escape::{escape, escaped_len, is_inert, unescape};
use tessera_core::console::{Console, MAX_LINE_COST};

fuzz_target!(|data: &[u8]| {
    let text = escape(data);
    assert!(is_inert(&text));
    assert_eq!(escaped_len(data), text.len());
    assert_eq!(unescape(&text).as_deref(), Some(data));
    if let Ok(s) = core::str::from_utf8(data) {
        if let Some(bytes) = unescape(s) {
            assert_eq!(unescape(&escape(&bytes)), Some(bytes));
        }
    }

    let (budget, piece, body) = match data {
        [b, p, rest @ ..] => {
            let budget = if *b >= 40 { u64::MAX } else { 1u64 << b };
            (budget, usize::from(*p).max(1) * 8, rest)
        }
        _ => return,
    };
    let name = "fuzz";
    let mut console = Console::new(name, budget);
    let mut lines: Vec<String> = Vec::new();
    for chunk in body.chunks(piece) {
        let _ = console.write(chunk, &mut |l| lines.push(l.to_owned()));
    }
    console.flush(&mut |l| lines.push(l.to_owned()));
    let truncated = format!("@@TRUNCATED compartment={name}");
    let mut spent = 0u64;
    for (i, line) in lines.iter().enumerate() {
        if *line == truncated {
            assert_eq!(i, lines.len() - 1);
            assert!(console.truncated());
            continue;
        }
        let body = line
            .strip_prefix("[fuzz] ")
            .expect("every console line has the prefix");
        assert!(is_inert(body));
        assert!(line.len() < MAX_LINE_COST);
        assert!(unescape(body).is_some());
        spent += line.len() as u64 + 1;
    }
    assert!(spent <= budget);
});
