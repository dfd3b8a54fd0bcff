//! Which engine boots Tessera: the engines ([`Engine`]: Bochs, QEMU TCG, QEMU/KVM,
//! nested-kvm, UEFI) and the pure choice among them for `--engine`.
//!
//! `auto` prefers QEMU+KVM when `/dev/kvm` can run a guest that itself has VMX or SVM
//! (nested virtualisation), because that is the fast, real-hardware path. Otherwise it
//! falls back to Bochs with a VMFUNC-capable CPU model, the one engine here that
//! implements VMX, EPT and VMFUNC in software. `nested-kvm` and `uefi` are only ever
//! chosen by name.

use crate::host::{HostFacts, KvmDevice, KvmModule, Vendor};

/// Bochs' default CPU model: VMX + EPT + VMFUNC with EPTP switching.
pub const DEFAULT_BOCHS_CPU: &str = "tigerlake";
/// QEMU TCG's default CPU: SVM with nested paging (TCG has no VMX).
pub const DEFAULT_QEMU_CPU: &str = "qemu64,+svm,+npt";

/// What the user asked for on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineRequest {
    /// KVM when it can run a VMX/SVM guest, else Bochs.
    Auto,
    /// Bochs (default CPU model tigerlake), booting a GRUB ISO.
    Bochs,
    /// QEMU with TCG (default CPU qemu64,+svm,+npt), booting with -kernel.
    Qemu,
    /// QEMU with KVM (-cpu host), booting with -kernel.
    Kvm,
    /// QEMU/KVM inside Debian's Linux inside Bochs corei7_skylake_x (never chosen by auto).
    NestedKvm,
    /// QEMU with TCG and OVMF (UEFI firmware) booting the GRUB ISO from its CD drive.
    Uefi,
}

/// A concrete engine and CPU model. `NestedKvm`: QEMU/KVM in Debian's Linux in Bochs, `cpu`
/// being the Bochs model ([`crate::nested`]); `Uefi`: QEMU TCG with OVMF booting the ISO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    Bochs { cpu: String },
    Qemu { cpu: String },
    Kvm { cpu: String },
    NestedKvm { cpu: String },
    Uefi { cpu: String },
}

impl Engine {
    /// `bochs`, `qemu`, `kvm`, `nested-kvm` or `uefi`.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Bochs { .. } => "bochs",
            Engine::Qemu { .. } => "qemu",
            Engine::Kvm { .. } => "kvm",
            Engine::NestedKvm { .. } => "nested-kvm",
            Engine::Uefi { .. } => "uefi",
        }
    }

    /// The CPU model string given to the emulator.
    pub fn cpu(&self) -> &str {
        match self {
            Engine::Bochs { cpu }
            | Engine::Qemu { cpu }
            | Engine::Kvm { cpu }
            | Engine::NestedKvm { cpu }
            | Engine::Uefi { cpu } => cpu,
        }
    }

    /// A file-name-safe label: `bochs-tigerlake`, `qemu-qemu64-svm-npt`.
    pub fn label(&self) -> String {
        let cpu: Vec<&str> = self
            .cpu()
            .split([',', '+', '=', ' ', '/'])
            .filter(|part| !part.is_empty())
            .collect();
        format!("{}-{}", self.name(), cpu.join("-"))
    }

    /// Bochs boots through GRUB from an ISO; QEMU loads the kernel itself (nested-kvm
    /// makes its own ISO around the guest).
    pub fn needs_iso(&self) -> bool {
        matches!(self, Engine::Bochs { .. } | Engine::Uefi { .. })
    }
}

/// The chosen engine and a sentence saying why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub engine: Engine,
    pub why: String,
}

/// Which virtualisation extension a KVM guest gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NestedGuest {
    Vmx,
    Svm,
}

/// Whether `/dev/kvm` can run a guest with VMX or SVM; the error says exactly why not.
pub fn kvm_nested_guest(host: &HostFacts) -> Result<NestedGuest, String> {
    match &host.kvm_device {
        KvmDevice::Absent => return Err("there is no /dev/kvm on this host".into()),
        KvmDevice::NotOpenable(err) => {
            return Err(format!(
                "/dev/kvm cannot be opened read-write ({err}); add your user to the kvm group"
            ));
        }
        KvmDevice::Usable => {}
    }
    let (guest, module, nested, vendor_ok, flag, flag_ok) = match &host.kvm_module {
        KvmModule::None => {
            return Err("/dev/kvm exists but neither kvm_intel nor kvm_amd is loaded".into());
        }
        KvmModule::Other(name) => {
            return Err(format!(
                "/dev/kvm is provided by {name}, which cannot run VMX or SVM guests"
            ));
        }
        KvmModule::Intel { nested } => (
            NestedGuest::Vmx,
            "kvm_intel",
            *nested,
            host.vendor == Vendor::Intel,
            "vmx",
            host.vmx_flag,
        ),
        KvmModule::Amd { nested } => (
            NestedGuest::Svm,
            "kvm_amd",
            *nested,
            host.vendor == Vendor::Amd,
            "svm",
            host.svm_flag,
        ),
    };
    if !vendor_ok {
        return Err(format!(
            "{module} is loaded but the host CPU vendor is {:?}",
            host.vendor
        ));
    }
    if !flag_ok {
        return Err(format!("the host CPU flags in /proc/cpuinfo lack {flag}"));
    }
    if !nested {
        return Err(format!(
            "{module} is loaded with nested virtualisation off (/sys/module/{module}/parameters/nested); \
             enable it with `modprobe -r {module} && modprobe {module} nested=1`"
        ));
    }
    Ok(guest)
}

/// Chooses the engine. `cpu` overrides the engine's default CPU model.
pub fn choose(
    request: EngineRequest,
    cpu: Option<&str>,
    host: &HostFacts,
) -> Result<Choice, String> {
    let bochs = |why: String| Choice {
        engine: Engine::Bochs {
            cpu: cpu.unwrap_or(DEFAULT_BOCHS_CPU).to_owned(),
        },
        why,
    };
    let kvm = |guest: NestedGuest, why: String| Choice {
        engine: Engine::Kvm {
            cpu: cpu.map(str::to_owned).unwrap_or_else(|| match guest {
                NestedGuest::Vmx => "host,+vmx".to_owned(),
                NestedGuest::Svm => "host".to_owned(),
            }),
        },
        why,
    };
    match request {
        EngineRequest::Bochs => Ok(bochs("requested".into())),
        EngineRequest::Qemu => Ok(Choice {
            engine: Engine::Qemu {
                cpu: cpu.unwrap_or(DEFAULT_QEMU_CPU).to_owned(),
            },
            why: "requested".into(),
        }),
        EngineRequest::Kvm => kvm_nested_guest(host)
            .map(|guest| kvm(guest, "requested".into()))
            .map_err(|why| format!("--engine kvm cannot run here: {why}")),
        EngineRequest::Uefi => Ok(Choice {
            engine: Engine::Uefi {
                cpu: cpu.unwrap_or(DEFAULT_QEMU_CPU).to_owned(),
            },
            why: "requested: the ISO on UEFI firmware (OVMF)".into(),
        }),
        EngineRequest::NestedKvm => Ok(Choice {
            engine: Engine::NestedKvm {
                cpu: cpu.unwrap_or(crate::nested::BOCHS_CPU).to_owned(),
            },
            why: "requested: QEMU/KVM in Debian's Linux in Bochs (minutes per Linux boot)".into(),
        }),
        EngineRequest::Auto => Ok(match kvm_nested_guest(host) {
            Ok(guest) => kvm(guest, format!("/dev/kvm can run {guest:?} guests")),
            Err(why) => bochs(format!("KVM is not usable: {why}")),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine: AMD EPYC VM, /dev/kvm from kvm_pvm, no svm flag.
    fn kvm_pvm_host() -> HostFacts {
        HostFacts {
            kvm_device: KvmDevice::Usable,
            vendor: Vendor::Amd,
            vmx_flag: false,
            svm_flag: false,
            kvm_module: KvmModule::Other("kvm_pvm".into()),
        }
    }

    fn intel_host(nested: bool) -> HostFacts {
        HostFacts {
            kvm_device: KvmDevice::Usable,
            vendor: Vendor::Intel,
            vmx_flag: true,
            svm_flag: false,
            kvm_module: KvmModule::Intel { nested },
        }
    }

    fn amd_host(nested: bool) -> HostFacts {
        HostFacts {
            kvm_device: KvmDevice::Usable,
            vendor: Vendor::Amd,
            vmx_flag: false,
            svm_flag: true,
            kvm_module: KvmModule::Amd { nested },
        }
    }

    fn bochs(cpu: &str) -> Engine {
        Engine::Bochs { cpu: cpu.into() }
    }

    #[test]
    fn kvm_pvm_falls_back_to_bochs_tigerlake() {
        let choice = choose(EngineRequest::Auto, None, &kvm_pvm_host()).unwrap();
        assert_eq!(choice.engine, bochs("tigerlake"));
        assert!(choice.why.contains("kvm_pvm"), "{}", choice.why);
    }

    #[test]
    fn kvm_pvm_refuses_explicit_kvm_and_says_why() {
        let err = choose(EngineRequest::Kvm, None, &kvm_pvm_host()).unwrap_err();
        assert!(
            err.contains("/dev/kvm is provided by kvm_pvm, which cannot run VMX or SVM guests"),
            "{err}"
        );
    }

    #[test]
    fn intel_with_nested_uses_kvm_with_vmx() {
        let choice = choose(EngineRequest::Auto, None, &intel_host(true)).unwrap();
        assert_eq!(
            choice.engine,
            Engine::Kvm {
                cpu: "host,+vmx".into()
            }
        );
        let explicit = choose(EngineRequest::Kvm, None, &intel_host(true)).unwrap();
        assert_eq!(explicit.engine, choice.engine);
    }

    #[test]
    fn intel_without_nested_falls_back_and_refuses_kvm() {
        let choice = choose(EngineRequest::Auto, None, &intel_host(false)).unwrap();
        assert_eq!(choice.engine, bochs("tigerlake"));
        let err = choose(EngineRequest::Kvm, None, &intel_host(false)).unwrap_err();
        assert!(
            err.contains("kvm_intel is loaded with nested virtualisation off"),
            "{err}"
        );
    }

    #[test]
    fn amd_with_nested_uses_kvm_host_cpu() {
        let choice = choose(EngineRequest::Auto, None, &amd_host(true)).unwrap();
        assert_eq!(choice.engine, Engine::Kvm { cpu: "host".into() });
        let choice = choose(EngineRequest::Auto, None, &amd_host(false)).unwrap();
        assert_eq!(choice.engine, bochs("tigerlake"));
    }

    #[test]
    fn no_or_closed_dev_kvm_falls_back() {
        let mut host = intel_host(true);
        host.kvm_device = KvmDevice::Absent;
        assert_eq!(
            choose(EngineRequest::Auto, None, &host).unwrap().engine,
            bochs("tigerlake")
        );
        let err = choose(EngineRequest::Kvm, None, &host).unwrap_err();
        assert!(err.contains("there is no /dev/kvm"), "{err}");
        host.kvm_device = KvmDevice::NotOpenable("Permission denied".into());
        let err = choose(EngineRequest::Kvm, None, &host).unwrap_err();
        assert!(err.contains("Permission denied"), "{err}");
    }

    #[test]
    fn missing_cpu_flag_or_module_is_explained() {
        let mut host = intel_host(true);
        host.vmx_flag = false;
        let err = choose(EngineRequest::Kvm, None, &host).unwrap_err();
        assert!(err.contains("lack vmx"), "{err}");
        host.kvm_module = KvmModule::None;
        let err = choose(EngineRequest::Kvm, None, &host).unwrap_err();
        assert!(err.contains("neither kvm_intel nor kvm_amd"), "{err}");
    }

    #[test]
    fn explicit_engines_and_cpu_override() {
        let host = kvm_pvm_host();
        let qemu = choose(EngineRequest::Qemu, None, &host).unwrap().engine;
        assert_eq!(
            qemu,
            Engine::Qemu {
                cpu: "qemu64,+svm,+npt".into()
            }
        );
        assert_eq!(qemu.label(), "qemu-qemu64-svm-npt");
        let ryzen = choose(EngineRequest::Bochs, Some("ryzen"), &host)
            .unwrap()
            .engine;
        assert_eq!(ryzen, bochs("ryzen"));
        assert_eq!(ryzen.label(), "bochs-ryzen");
        let auto = choose(EngineRequest::Auto, Some("corei7_skylake_x"), &host).unwrap();
        assert_eq!(auto.engine, bochs("corei7_skylake_x"));
        assert!(auto.engine.needs_iso() && !qemu.needs_iso());
    }

    #[test]
    fn nested_kvm_only_when_asked_for() {
        for host in [
            kvm_pvm_host(),
            intel_host(true),
            intel_host(false),
            amd_host(true),
        ] {
            let auto = choose(EngineRequest::Auto, None, &host).unwrap().engine;
            assert_ne!(auto.name(), "nested-kvm");
            let nested = choose(EngineRequest::NestedKvm, None, &host)
                .unwrap()
                .engine;
            assert_eq!(
                nested,
                Engine::NestedKvm {
                    cpu: "corei7_skylake_x".into()
                }
            );
            assert_eq!(nested.label(), "nested-kvm-corei7_skylake_x");
            assert!(!nested.needs_iso());
        }
        let uefi = choose(EngineRequest::Uefi, None, &kvm_pvm_host())
            .unwrap()
            .engine;
        assert_eq!(uefi.label(), "uefi-qemu64-svm-npt");
        assert!(uefi.needs_iso());
    }
}
