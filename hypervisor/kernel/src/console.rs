//! Compartment console output: whole lines, each prefixed with the compartment's name, so
//! nothing a compartment prints can start a line with `@@` (forge a transcript line).

use alloc::string::String;
use alloc::vec::Vec;

/// Longest line kept before it is flushed anyway.
const MAX_LINE: usize = 1024;

/// Buffers one compartment's output until a newline.
#[derive(Debug)]
pub struct LineBuffer {
    name: String,
    line: Vec<u8>,
}

impl LineBuffer {
    /// An empty buffer for compartment `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            line: Vec::new(),
        }
    }

    /// Appends bytes, printing every completed line.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.flush();
            } else if b != b'\r' {
                self.line.push(b);
                if self.line.len() >= MAX_LINE {
                    self.flush();
                }
            }
        }
    }

    /// Prints what is buffered (if anything) as one line.
    pub fn flush(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        crate::sprintln!("[{}] {}", self.name, text);
        self.line.clear();
    }
}
