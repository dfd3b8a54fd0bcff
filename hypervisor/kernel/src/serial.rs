//! COM1 (16550 UART at 0x3F8): the transcript channel.
//!
//! Bochs' 16550 drops bytes unless the driver waits for LSR.THRE (Line Status Register
//! bit 5, "transmitter holding register empty") before each byte, so every byte waits.

use crate::cpu::Port;
use core::fmt;
use spin::Mutex;

const COM1: u16 = 0x3F8;
const LSR_THRE: u8 = 1 << 5;
/// LSR bit 6: transmitter empty (holding register and shift register both drained).
const LSR_TEMT: u8 = 1 << 6;

/// The serial port. Serialised by [`SERIAL`]; the kernel runs on one CPU with interrupts off.
#[derive(Debug)]
pub struct Serial {
    base: u16,
}

/// The one COM1 instance.
pub static SERIAL: Mutex<Serial> = Mutex::new(Serial { base: COM1 });

impl Serial {
    fn port(&self, offset: u16) -> Port {
        // SAFETY: this kernel owns COM1 (ports 0x3F8..0x3FF); a UART has no access to memory.
        unsafe { Port::new(self.base + offset) }
    }
}

impl Serial {
    /// 115200 baud, 8N1, FIFOs on, interrupts off.
    pub fn init(&mut self) {
        self.port(1).write_u8(0x00); // IER: no interrupts
        self.port(3).write_u8(0x80); // LCR: DLAB on
        self.port(0).write_u8(0x01); // divisor low: 115200 baud
        self.port(1).write_u8(0x00); // divisor high
        self.port(3).write_u8(0x03); // LCR: 8 bits, no parity, one stop bit, DLAB off
        self.port(2).write_u8(0xC7); // FCR: enable and clear FIFOs, 14-byte threshold
        self.port(4).write_u8(0x03); // MCR: DTR, RTS
    }

    /// Waits until every byte written has left the UART (before the machine is ended,
    /// or Bochs loses the last byte of the transcript).
    pub fn flush(&mut self) {
        while self.port(5).read_u8() & LSR_TEMT == 0 {
            core::hint::spin_loop();
        }
    }

    fn write_byte(&mut self, byte: u8) {
        while self.port(5).read_u8() & LSR_THRE == 0 {
            core::hint::spin_loop();
        }
        self.port(0).write_u8(byte);
    }
}

impl fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}

/// Writes formatted text to COM1.
pub fn _print(args: fmt::Arguments<'_>) {
    use fmt::Write;
    // Writing to the UART cannot fail.
    let _ = SERIAL.lock().write_fmt(args);
}

/// Prints to COM1.
#[macro_export]
macro_rules! sprint {
    ($($arg:tt)*) => { $crate::serial::_print(format_args!($($arg)*)) };
}

/// Prints a line to COM1.
#[macro_export]
macro_rules! sprintln {
    () => { $crate::sprint!("\n") };
    ($($arg:tt)*) => { $crate::serial::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Makes the port usable from an exception or panic that may have interrupted a writer.
pub fn force_unlock() {
    if SERIAL.is_locked() {
        // SAFETY: one CPU, interrupts off: the holder is the code this exception or panic
        // interrupted, which never resumes. At worst a line is interleaved.
        unsafe { SERIAL.force_unlock() };
    }
}

/// COM1 as the engine's `Transcript` port: every line the engine writes goes out whole.
#[derive(Debug, Default, Clone, Copy)]
pub struct Com1;

impl tessera_engine::port::Transcript for Com1 {
    fn line(&mut self, args: core::fmt::Arguments<'_>) {
        _print(format_args!("{args}\n"));
    }
}
