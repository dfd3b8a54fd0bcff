//! The stages of a nested-kvm session, so that every failure says where it happened.

use std::fmt;

/// Where a nested-kvm session can fail, in the order it gets there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Resolving, downloading or unpacking a Debian package.
    Package,
    /// Building the guest image or Tessera's payload, or the ISO.
    ImageBuild,
    /// Bochs booting the stub and Linux up to the guest's `/init`.
    LinuxBoot,
    /// Loading `kvm_intel` with nesting and getting `/dev/kvm`.
    KvmModule,
    /// Starting `qemu-system-x86_64 -accel kvm` inside the guest.
    QemuStart,
    /// Tessera itself (its transcript says what).
    Tessera,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Package => "package",
            Stage::ImageBuild => "image build",
            Stage::LinuxBoot => "Linux boot",
            Stage::KvmModule => "KVM module load",
            Stage::QemuStart => "QEMU start",
            Stage::Tessera => "Tessera",
        })
    }
}

/// A failure at a stage, with the lines that explain it (dmesg, QEMU's stderr, the
/// last console lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageError {
    pub stage: Stage,
    pub message: String,
    pub details: Vec<String>,
}

impl StageError {
    pub fn new(stage: Stage, message: impl Into<String>) -> StageError {
        StageError {
            stage,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: Vec<String>) -> StageError {
        self.details = details;
        self
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nested-kvm, stage \"{}\": {}", self.stage, self.message)?;
        for line in &self.details {
            write!(f, "\n  | {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_stage_and_details() {
        let e = StageError::new(Stage::KvmModule, "insmod kvm-intel failed")
            .with_details(vec!["kvm: no hardware support".into()]);
        assert_eq!(
            e.to_string(),
            "nested-kvm, stage \"KVM module load\": insmod kvm-intel failed\n  | kvm: no hardware support"
        );
        assert!(Stage::Package < Stage::Tessera);
    }
}
