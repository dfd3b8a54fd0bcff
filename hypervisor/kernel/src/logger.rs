//! `log` backend: free-form lines on COM1 (never starting with `@@`).

use log::{LevelFilter, Log, Metadata, Record};

struct SerialLogger;

static LOGGER: SerialLogger = SerialLogger;

impl Log for SerialLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // hermit-entry's loader logs every load at info and warns that a compartment "is
        // not a hermit application" (true, and expected): keep only its errors.
        !metadata.target().starts_with("hermit_entry") || metadata.level() <= log::Level::Error
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        crate::sprintln!("[{:5}] {}", record.level(), record.args());
    }

    fn flush(&self) {}
}

/// Installs the logger. `level` comes from the kernel command line (`log=debug`).
pub fn init(level: LevelFilter) {
    // Only fails when a logger is already set; then the first one stays.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
