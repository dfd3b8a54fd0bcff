//! Scenarios of the isolation issue (docs/gates.md): one per class of attack.
