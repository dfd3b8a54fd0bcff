//! Facts about the host that decide which engine can run Tessera.
//!
//! [`HostFacts::probe`] reads the real files; everything else here is pure so the engine
//! choice can be unit-tested against any host.

use std::fs;
use std::path::Path;

/// The state of `/dev/kvm`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvmDevice {
    /// No `/dev/kvm`.
    Absent,
    /// `/dev/kvm` exists but cannot be opened read-write (the error text).
    NotOpenable(String),
    /// `/dev/kvm` opens read-write.
    Usable,
}

/// The host CPU's vendor (`vendor_id` in `/proc/cpuinfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vendor {
    Intel,
    Amd,
    Other(String),
}

/// Which KVM vendor module provides `/dev/kvm`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvmModule {
    /// No KVM vendor module is loaded.
    None,
    /// `kvm_intel`, with its `nested` parameter.
    Intel { nested: bool },
    /// `kvm_amd`, with its `nested` parameter.
    Amd { nested: bool },
    /// Some other module (e.g. `kvm_pvm`), by name.
    Other(String),
}

/// Everything the engine choice needs to know about the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFacts {
    pub kvm_device: KvmDevice,
    pub vendor: Vendor,
    /// `/proc/cpuinfo` flags include `vmx`.
    pub vmx_flag: bool,
    /// `/proc/cpuinfo` flags include `svm`.
    pub svm_flag: bool,
    pub kvm_module: KvmModule,
}

impl HostFacts {
    /// Reads `/dev/kvm`, `/proc/cpuinfo` and `/sys/module/kvm_*` on this machine.
    pub fn probe() -> HostFacts {
        let kvm_device = if !Path::new("/dev/kvm").exists() {
            KvmDevice::Absent
        } else {
            match fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/kvm")
            {
                Ok(_) => KvmDevice::Usable,
                Err(e) => KvmDevice::NotOpenable(e.to_string()),
            }
        };
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let (vendor, vmx_flag, svm_flag) = parse_cpuinfo(&cpuinfo);
        let loaded: Vec<String> = fs::read_dir("/sys/module")
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        let nested = |module: &str| {
            fs::read_to_string(format!("/sys/module/{module}/parameters/nested"))
                .map(|text| parse_nested(&text))
                .unwrap_or(false)
        };
        let kvm_module = kvm_module(&loaded, nested);
        HostFacts {
            kvm_device,
            vendor,
            vmx_flag,
            svm_flag,
            kvm_module,
        }
    }
}

/// The vendor and whether the first CPU's `flags` include `vmx` / `svm`.
pub fn parse_cpuinfo(text: &str) -> (Vendor, bool, bool) {
    let field = |name: &str| {
        text.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default()
    };
    let vendor = match field("vendor_id").as_str() {
        "GenuineIntel" => Vendor::Intel,
        "AuthenticAMD" => Vendor::Amd,
        other => Vendor::Other(other.to_owned()),
    };
    let flags = field("flags");
    let has = |flag: &str| flags.split_whitespace().any(|f| f == flag);
    (vendor, has("vmx"), has("svm"))
}

/// A KVM `nested` parameter: `Y`/`1` (kvm_intel prints Y/N, kvm_amd 1/0).
pub fn parse_nested(text: &str) -> bool {
    matches!(text.trim(), "Y" | "y" | "1")
}

/// Which vendor module is loaded, given the names under `/sys/module`.
pub fn kvm_module(loaded: &[String], nested: impl Fn(&str) -> bool) -> KvmModule {
    let is_loaded = |name: &str| loaded.iter().any(|m| m == name);
    if is_loaded("kvm_intel") {
        KvmModule::Intel {
            nested: nested("kvm_intel"),
        }
    } else if is_loaded("kvm_amd") {
        KvmModule::Amd {
            nested: nested("kvm_amd"),
        }
    } else {
        let mut others: Vec<&String> = loaded.iter().filter(|m| m.starts_with("kvm_")).collect();
        others.sort();
        match others.first() {
            Some(name) => KvmModule::Other((*name).clone()),
            None => KvmModule::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vendor_and_flags() {
        let amd = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme sse svm_lock\n";
        assert_eq!(parse_cpuinfo(amd), (Vendor::Amd, false, false));
        let intel = "vendor_id : GenuineIntel\nflags : fpu vmx ept\nflags : fpu\n";
        assert_eq!(parse_cpuinfo(intel), (Vendor::Intel, true, false));
        assert_eq!(parse_cpuinfo("").0, Vendor::Other(String::new()));
    }

    #[test]
    fn reads_nested_parameter() {
        assert!(parse_nested("Y\n"));
        assert!(parse_nested("1\n"));
        assert!(!parse_nested("N\n"));
        assert!(!parse_nested("0"));
    }

    #[test]
    fn finds_the_vendor_module() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let on = |_: &str| true;
        assert_eq!(
            kvm_module(&names(&["kvm", "kvm_pvm"]), on),
            KvmModule::Other("kvm_pvm".into())
        );
        assert_eq!(
            kvm_module(&names(&["kvm", "kvm_intel"]), on),
            KvmModule::Intel { nested: true }
        );
        assert_eq!(
            kvm_module(&names(&["kvm_amd", "kvm"]), |_| false),
            KvmModule::Amd { nested: false }
        );
        assert_eq!(kvm_module(&names(&["kvm", "ext4"]), on), KvmModule::None);
    }
}
