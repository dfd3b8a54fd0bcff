//! Compartment consoles: `tessera_core::console` decides what is printed (whole lines,
//! `[NAME] ` + escaped text, within the compartment's `console=` budget); the engine
//! writes its lines to the transcript.

use crate::ids::ViewId;
use crate::port::Memory;
use crate::world::World;
use tessera_core::console::OverBudget;
use tessera_core::paging::EntryFormat;

impl<F: EntryFormat, M: Memory> World<F, M> {
    /// Takes bytes `view`'s compartment wrote, printing every completed line.
    pub fn console_write(&mut self, view: ViewId, bytes: &[u8]) -> Result<(), OverBudget> {
        let out = &mut self.out;
        let mut print = |line: &str| out.line(format_args!("{line}"));
        self.views[view.index()].console.write(bytes, &mut print)
    }

    /// Prints what `view`'s console holds (if anything) as one line.
    pub fn console_flush(&mut self, view: ViewId) {
        let out = &mut self.out;
        let mut print = |line: &str| out.line(format_args!("{line}"));
        self.views[view.index()].console.flush(&mut print);
    }

    /// Prints `line`, which L1 made for the compartment (a report), if its budget pays
    /// for it. Flushes the pending console text first, so lines keep their order.
    pub fn console_report(&mut self, view: ViewId, line: &str) -> Result<(), OverBudget> {
        self.console_flush(view);
        let out = &mut self.out;
        let mut print = |text: &str| out.line(format_args!("{text}"));
        let console = &mut self.views[view.index()].console;
        console.charge(line.len() as u64 + 1, &mut print)?;
        print(line);
        Ok(())
    }

    /// Charges `bytes` of text L1 prints for the compartment inside one of its own lines
    /// (a panic message in `@@FAULT`).
    pub fn console_charge(&mut self, view: ViewId, bytes: usize) -> Result<(), OverBudget> {
        let out = &mut self.out;
        let mut print = |line: &str| out.line(format_args!("{line}"));
        self.views[view.index()]
            .console
            .charge(bytes as u64, &mut print)
    }
}
