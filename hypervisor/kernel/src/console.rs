//! Compartment console output: `tessera_core::console` decides what is printed (whole
//! lines, `[NAME] ` + escaped text, within the compartment's `console=` budget); this
//! file only writes its lines to COM1.

use tessera_core::console::{Console, OverBudget};

fn print(line: &str) {
    crate::sprintln!("{line}");
}

/// One compartment's console.
#[derive(Debug)]
pub struct LineBuffer(Console);

impl LineBuffer {
    /// An empty console for compartment `name` with `budget` bytes of output.
    pub fn new(name: &str, budget: u64) -> Self {
        Self(Console::new(name, budget))
    }

    /// Takes bytes the compartment wrote, printing every completed line.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), OverBudget> {
        self.0.write(bytes, &mut print)
    }

    /// Prints what is buffered (if anything) as one line.
    pub fn flush(&mut self) {
        self.0.flush(&mut print);
    }

    /// Prints `line`, which L1 made for the compartment (a report), if its budget pays
    /// for it. Flushes the pending console text first, so lines keep their order.
    pub fn report(&mut self, line: &str) -> Result<(), OverBudget> {
        self.flush();
        self.0.charge(line.len() as u64 + 1, &mut print)?;
        print(line);
        Ok(())
    }

    /// Charges `bytes` of text L1 prints for the compartment inside one of its own lines
    /// (a panic message in `@@FAULT`).
    pub fn charge(&mut self, bytes: usize) -> Result<(), OverBudget> {
        self.0.charge(bytes as u64, &mut print)
    }
}
