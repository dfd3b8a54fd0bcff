//! `log` backend: free-form lines on COM1 (never starting with `@@`).

use log::{LevelFilter, Log, Metadata, Record};

struct SerialLogger;

static LOGGER: SerialLogger = SerialLogger;

impl Log for SerialLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
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
