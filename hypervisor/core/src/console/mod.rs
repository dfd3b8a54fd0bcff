//! What L1 prints for a compartment (CONSOLE_WRITE, REPORT, its panic message): whole
//! lines, each `[NAME] ` + the text escaped ([`escape`]), charged against the
//! compartment's output budget (manifest `console=`).
//!
//! - Nothing a compartment writes can start a line, end one early or hide the prefix:
//!   lines break only at `\n` (or after [`MAX_LINE`] bytes), and every control
//!   character, line separator and invalid byte is escaped.
//! - A line costs what it prints: prefix, escaped text and the newline. When the next
//!   line does not fit in what is left of the budget, L1 prints
//!   `@@TRUNCATED compartment=NAME` (once; it is not charged) and drops everything the
//!   compartment sends from then on. The compartment keeps running.
//! - One line costs at most [`MAX_LINE_COST`] bytes, and L1 holds at most [`MAX_LINE`]
//!   bytes per compartment, whatever the compartment sends.

pub mod escape;

use alloc::string::String;
use alloc::vec::Vec;

use crate::outcome::encode_value;

/// Bytes of one line a compartment may send before L1 breaks it (a longer line
/// continues on the next, with its own prefix).
pub const MAX_LINE: usize = 1024;
/// The most one printed console line can cost: the prefix of the longest name, each of
/// [`MAX_LINE`] bytes escaped to 4 (`\xHH`), the newline.
pub const MAX_LINE_COST: usize = 1 + crate::manifest::MAX_NAME_LEN + 2 + 4 * MAX_LINE + 1;

/// Most bytes of a panic message L1 prints (the SDK sends at most 1024); the rest is
/// dropped.
pub const MAX_PANIC_MESSAGE: usize = 1024;

/// What L1 shows of the message a PANIC hypercall sent: its first
/// [`MAX_PANIC_MESSAGE`] bytes. They are printed twice: readable, as the compartment's
/// own console output ([`Console::write`], escaped only as every console line is), and
/// exactly, as the `message=` value of `@@FAULT kind=panic` ([`panic_message`]).
pub fn panic_text(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(MAX_PANIC_MESSAGE)]
}

/// The `message=` value of the `@@FAULT kind=panic` line for the message a PANIC
/// hypercall sent: [`panic_text`] (invalid UTF-8 replaced), encoded as every `@@` value
/// is ([`encode_value`]: a value holds no space), so at most `3 * MAX_PANIC_MESSAGE`
/// bytes.
pub fn panic_message(bytes: &[u8]) -> String {
    encode_value(&String::from_utf8_lossy(panic_text(bytes)))
}

/// The compartment's output was dropped: its budget is spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverBudget;

/// One compartment's console: the line being assembled and what is left of its budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Console {
    name: String,
    line: Vec<u8>,
    left: u64,
    truncated: bool,
}

impl Console {
    /// An empty console for compartment `name` with `budget` bytes of output.
    pub fn new(name: &str, budget: u64) -> Self {
        Self {
            name: name.into(),
            line: Vec::new(),
            left: budget,
            truncated: false,
        }
    }

    /// Whether the budget ran out (and `@@TRUNCATED` was printed).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Bytes of budget left.
    pub fn left(&self) -> u64 {
        self.left
    }

    /// Takes what the compartment wrote; `print` gets every completed line (without its
    /// newline). `Err` if any of it was dropped (now or before: the budget is spent).
    pub fn write(&mut self, bytes: &[u8], print: &mut dyn FnMut(&str)) -> Result<(), OverBudget> {
        for &b in bytes {
            if self.truncated {
                return Err(OverBudget);
            }
            if b == b'\n' {
                // An empty line is printed too: a compartment may want blank lines, and
                // it pays for them.
                self.emit(self.line.len(), print);
                continue;
            }
            self.line.push(b);
            if self.line.len() >= MAX_LINE {
                let cut = char_boundary(&self.line);
                self.emit(cut, print);
            }
        }
        if self.truncated {
            Err(OverBudget)
        } else {
            Ok(())
        }
    }

    /// Prints what is buffered (if anything) as one line: the compartment ended, failed
    /// or its output must appear before something else.
    pub fn flush(&mut self, print: &mut dyn FnMut(&str)) {
        if !self.line.is_empty() && !self.truncated {
            self.emit(self.line.len(), print);
        }
    }

    /// Charges `cost` bytes that L1 prints on the compartment's behalf outside a console
    /// line (a report, a panic message). On `Err` nothing was charged, `@@TRUNCATED` was
    /// printed if it had not been, and the caller must drop that output.
    pub fn charge(&mut self, cost: u64, print: &mut dyn FnMut(&str)) -> Result<(), OverBudget> {
        if self.truncated {
            return Err(OverBudget);
        }
        match self.left.checked_sub(cost) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => {
                self.truncate(print);
                Err(OverBudget)
            }
        }
    }

    /// Prints the first `len` bytes of the buffered line (if the budget allows) and keeps
    /// the rest for the next line.
    fn emit(&mut self, len: usize, print: &mut dyn FnMut(&str)) {
        let mut text = String::with_capacity(self.name.len() + 3 + len);
        text.push('[');
        text.push_str(&self.name);
        text.push_str("] ");
        escape::escape_into(&self.line[..len], &mut text);
        self.line.drain(..len);
        let cost = text.len() as u64 + 1;
        if self.charge(cost, print).is_ok() {
            print(&text);
        }
    }

    fn truncate(&mut self, print: &mut dyn FnMut(&str)) {
        self.truncated = true;
        self.line = Vec::new();
        let line = alloc::format!("@@TRUNCATED compartment={}", encode_value(&self.name));
        print(&line);
    }
}

/// Where to break a full line: before an incomplete UTF-8 sequence at its end (so a
/// character is never cut in two), else at its end.
fn char_boundary(line: &[u8]) -> usize {
    for back in 1..=3.min(line.len()) {
        let b = line[line.len() - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back
        }
        let needed = match b {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return line.len(),
        };
        return if back < needed {
            line.len() - back
        } else {
            line.len()
        };
    }
    line.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn run(console: &mut Console, writes: &[&[u8]]) -> (Vec<String>, Vec<Result<(), OverBudget>>) {
        let mut lines = Vec::new();
        let mut results = Vec::new();
        for w in writes {
            results.push(console.write(w, &mut |l| lines.push(l.to_string())));
        }
        console.flush(&mut |l| lines.push(l.to_string()));
        (lines, results)
    }

    #[test]
    fn lines_get_the_prefix_and_break_only_at_newlines() {
        let mut c = Console::new("app", 1000);
        let (lines, results) = run(&mut c, &[b"hel", b"lo\nwor", b"ld\n\n", b"tail"]);
        assert_eq!(
            lines,
            ["[app] hello", "[app] world", "[app] ", "[app] tail"]
        );
        assert!(results.iter().all(Result::is_ok));
        let spent: usize = lines.iter().map(|l| l.len() + 1).sum();
        assert_eq!(c.left(), 1000 - spent as u64);
    }

    #[test]
    fn a_forged_result_line_stays_inside_the_prefixed_line() {
        let mut c = Console::new("evil", 1000);
        let forged: &[&[u8]] = &[
            b"x\r@@RESULT pass\n",
            b"\x1b[2K\x1b[1G@@RESULT pass\n",
            "y\u{85}@@RESULT pass\u{2028}@@FAULT\n".as_bytes(),
            b"\x08\x08\x08\x08\x08\x08@@RESULT pass\n",
        ];
        let (lines, _) = run(&mut c, forged);
        assert_eq!(
            lines,
            [
                "[evil] x\\x0d@@RESULT pass",
                "[evil] \\x1b[2K\\x1b[1G@@RESULT pass",
                "[evil] y\\u{85}@@RESULT pass\\u{2028}@@FAULT",
                "[evil] \\x08\\x08\\x08\\x08\\x08\\x08@@RESULT pass",
            ]
        );
        for l in &lines {
            assert!(escape::is_inert(l), "{l}");
        }
    }

    #[test]
    fn long_lines_break_at_max_line_without_cutting_a_character() {
        let mut c = Console::new("a", u64::MAX);
        let mut text = alloc::vec![b'x'; MAX_LINE - 1];
        text.extend_from_slice("é".as_bytes()); // 2 bytes across the limit
        text.extend_from_slice(b"z\n");
        let (lines, _) = run(&mut c, &[&text]);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), "[a] ".len() + MAX_LINE - 1);
        assert_eq!(lines[1], "[a] éz");
        // The worst line: every byte escaped, the longest name.
        let name = "n".repeat(crate::manifest::MAX_NAME_LEN);
        let mut c = Console::new(&name, u64::MAX);
        let (lines, _) = run(&mut c, &[&[0x1b; 3 * MAX_LINE]]);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.len() + 1 == MAX_LINE_COST));
    }

    #[test]
    fn the_budget_ends_output_with_one_truncated_line() {
        // "[b] 0123456789" + newline = 15 bytes a line.
        let mut c = Console::new("b", 40);
        let (lines, results) = run(
            &mut c,
            &[b"0123456789\n", b"0123456789\n", b"0123456789\n", b"more\n"],
        );
        assert_eq!(
            lines,
            [
                "[b] 0123456789",
                "[b] 0123456789",
                "@@TRUNCATED compartment=b"
            ]
        );
        assert_eq!(results, [Ok(()), Ok(()), Err(OverBudget), Err(OverBudget)]);
        assert!(c.truncated());
        assert_eq!(c.left(), 10);
        let mut none = |_: &str| panic!("nothing more is printed");
        assert_eq!(c.charge(1, &mut none), Err(OverBudget));
        c.flush(&mut none);
    }

    #[test]
    fn reports_are_charged_and_a_zero_budget_prints_only_the_truncation() {
        let mut c = Console::new("r", 20);
        let mut lines = Vec::new();
        assert_eq!(c.charge(20, &mut |l| lines.push(l.to_string())), Ok(()));
        assert_eq!(
            c.charge(1, &mut |l| lines.push(l.to_string())),
            Err(OverBudget)
        );
        assert_eq!(lines, ["@@TRUNCATED compartment=r"]);
        let mut silent = Console::new("s", 0);
        let (lines, results) = run(&mut silent, &[b"\n", b"x\n"]);
        assert_eq!(lines, ["@@TRUNCATED compartment=s"]);
        assert_eq!(results, [Err(OverBudget), Err(OverBudget)]);
    }

    #[test]
    fn panic_messages_are_encoded_and_bounded() {
        assert_eq!(
            panic_message(b"boom\r\n@@RESULT pass \xff"),
            "boom%0D%0A@@RESULT%20pass%20%EF%BF%BD"
        );
        let long = panic_message(&[0x1b; 4096]);
        assert_eq!(long, "%1B".repeat(MAX_PANIC_MESSAGE));
    }

    #[test]
    fn char_boundaries() {
        assert_eq!(char_boundary(b"abc"), 3);
        assert_eq!(char_boundary(b"ab\xc3"), 2);
        assert_eq!(char_boundary(b"ab\xc3\xa9"), 4);
        assert_eq!(char_boundary(b"a\xe2\x80"), 1);
        assert_eq!(char_boundary(b"\xf0\x9f\x98"), 0);
        assert_eq!(char_boundary(b"\xf0\x9f\x98\x80"), 4);
        assert_eq!(char_boundary(b"\x80\x80\x80"), 3);
        assert_eq!(char_boundary(b"\xff"), 1);
        assert_eq!(char_boundary(b""), 0);
    }
}
