//! The console: `print!` / `println!` over the CONSOLE_WRITE hypercall.
//!
//! The hypervisor prefixes every CONSOLE_WRITE with the compartment's name, so one
//! `print!` is collected into a line-sized buffer and sent in as few hypercalls as
//! possible (one, for any line up to [`LINE_BUF`] bytes), never splitting a character.

use core::fmt::{self, Write};

use crate::hypercall::console_write;
use crate::text::floor_char_boundary;

/// Bytes one `print!` collects before it has to send a partial line.
pub const LINE_BUF: usize = 256;

/// Collects formatted text; sends it with CONSOLE_WRITE whenever the buffer is full, and
/// once more at the end of [`print_fmt`].
struct LineWriter {
    buf: [u8; LINE_BUF],
    len: usize,
}

impl LineWriter {
    fn flush(&mut self) -> fmt::Result {
        let pending = &self.buf[..self.len];
        self.len = 0;
        console_write(pending).map_err(|_| fmt::Error)
    }
}

impl Write for LineWriter {
    fn write_str(&mut self, mut s: &str) -> fmt::Result {
        while !s.is_empty() {
            // LINE_BUF >= 4, so after a flush at least one whole character always fits.
            let take = floor_char_boundary(s, LINE_BUF - self.len);
            if take == 0 {
                self.flush()?;
                continue;
            }
            self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
            self.len += take;
            s = &s[take..];
        }
        Ok(())
    }
}

/// Formats `args` and writes them to the console. What `print!` expands to.
///
/// Console errors (the hypervisor refused the write) are dropped: a compartment has no
/// other channel to report them on.
pub fn print_fmt(args: fmt::Arguments<'_>) {
    let mut w = LineWriter {
        buf: [0; LINE_BUF],
        len: 0,
    };
    if w.write_fmt(args).is_ok() {
        let _ = w.flush();
    }
}

/// Writes formatted text to the console, one hypercall per [`LINE_BUF`] bytes. No newline.
///
/// Like `std::print!`.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::__private::print_fmt(::core::format_args!($($arg)*))
    };
}

/// Writes a line to the console.
///
/// Like `std::println!`.
#[macro_export]
macro_rules! println {
    () => {
        $crate::print!("\n")
    };
    ($($arg:tt)*) => {
        $crate::__private::print_fmt(::core::format_args!(
            "{}\n",
            ::core::format_args!($($arg)*)
        ))
    };
}
