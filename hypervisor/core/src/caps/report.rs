//! `@@CAP` lines and the human-readable capability report.

use super::{Capabilities, EptVpidCaps, SvmCaps, VmxCaps};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

fn flag(b: bool) -> String {
    String::from(if b { "1" } else { "0" })
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

impl Capabilities {
    /// The `@@CAP name=value` pairs, in a fixed order: first `vendor`, `vmx`, `ept`,
    /// `vpid`, `vmfunc.eptp_switching`, `svm`, `svm.npt`, `svm.nrips`; then `maxphyaddr`,
    /// the `vmx.*`/`ept.*` details (only with VMX) and the `svm.*` details (only with SVM).
    pub fn cap_lines(&self) -> Vec<(&'static str, String)> {
        let vmx = self.vmx.as_ref();
        let svm = self.svm.as_ref();
        let mut out = Vec::from([
            ("vendor", String::from(self.vendor.name())),
            ("vmx", flag(vmx.is_some())),
            ("ept", flag(self.ept())),
            ("vpid", flag(vmx.is_some_and(|v| v.vpid))),
            ("vmfunc.eptp_switching", flag(self.vmfunc_eptp_switching())),
            ("svm", flag(svm.is_some())),
            ("svm.npt", flag(self.npt())),
            ("svm.nrips", flag(svm.is_some_and(|s| s.nrips))),
            ("maxphyaddr", format!("{}", self.maxphyaddr)),
        ]);
        if let Some(v) = vmx {
            let e = v.ept_caps().copied().unwrap_or_default();
            out.extend([
                ("vmx.revision", format!("{:#x}", v.basic.revision_id)),
                ("vmx.true_controls", flag(v.basic.true_controls)),
                ("vmx.unrestricted", flag(v.unrestricted_guest)),
                ("vmx.ve", flag(v.ve)),
                ("vmx.preemption_timer", flag(v.preemption_timer)),
                ("ept.walk4", flag(e.walk4)),
                ("ept.wb", flag(e.wb)),
                ("ept.uc", flag(e.uc)),
                ("ept.2m", flag(e.large_2m)),
                ("ept.1g", flag(e.large_1g)),
                ("ept.ad", flag(e.accessed_dirty)),
                ("ept.execute_only", flag(e.execute_only)),
                ("ept.invept", flag(e.invept)),
            ]);
        }
        if let Some(s) = svm {
            out.extend([
                ("svm.asids", format!("{}", s.asids)),
                ("svm.flush_by_asid", flag(s.flush_by_asid)),
            ]);
        }
        out
    }

    /// [`Capabilities::cap_lines`] formatted as transcript lines: `@@CAP name=value`.
    pub fn cap_transcript(&self) -> Vec<String> {
        self.cap_lines()
            .into_iter()
            .map(|(k, v)| format!("@@CAP {k}={v}"))
            .collect()
    }

    /// A readable multi-line report for the console (no line starts with `@@`).
    pub fn report_lines(&self) -> Vec<String> {
        let id: String = self
            .vendor_id
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() {
                    char::from(b)
                } else {
                    '?'
                }
            })
            .collect();
        let mut out = Vec::from([format!(
            "cpu: vendor {} ({}), physical address width {} bits",
            id,
            self.vendor.name(),
            self.maxphyaddr
        )]);
        match &self.vmx {
            Some(v) => vmx_report(v, &mut out),
            None => out.push(String::from("vmx: not available")),
        }
        match &self.svm {
            Some(s) => svm_report(s, &mut out),
            None => out.push(String::from("svm: not available")),
        }
        out
    }
}

fn vmx_report(v: &VmxCaps, out: &mut Vec<String>) {
    let b = &v.basic;
    out.push(format!(
        "vmx: revision {:#x}, vmcs {} bytes, memory type {}, true controls {}, ins/outs info {}",
        b.revision_id,
        b.vmcs_size,
        b.memory_type,
        yes(b.true_controls),
        yes(b.ins_outs_info)
    ));
    let src = if v.controls_from_true_msrs {
        "true msrs"
    } else {
        "legacy msrs"
    };
    out.push(format!("  controls from {src} (must-be-1 / may-be-1):"));
    let pairs = [
        ("pin-based", Some(v.pin)),
        ("proc-based", Some(v.proc)),
        ("proc-based2", v.proc2),
    ];
    let pairs = pairs
        .into_iter()
        .chain([("exit", Some(v.exit)), ("entry", Some(v.entry))]);
    for (name, bits) in pairs {
        out.push(match bits {
            Some(a) => format!("    {name:<12} {:#010x} / {:#010x}", a.allowed0, a.allowed1),
            None => format!("    {name:<12} not available"),
        });
    }
    out.push(format!(
        "  cr0 fixed0/fixed1 {:#x}/{:#x}, cr4 fixed0/fixed1 {:#x}/{:#x}",
        v.cr0.fixed0, v.cr0.fixed1, v.cr4.fixed0, v.cr4.fixed1
    ));
    out.push(format!(
        "  ept {}, vpid {}, unrestricted guest {}, #VE {}, preemption timer {} (rate 2^{})",
        yes(v.ept),
        yes(v.vpid),
        yes(v.unrestricted_guest),
        yes(v.ve),
        yes(v.preemption_timer),
        v.preemption_timer_rate
    ));
    if let Some(e) = &v.ept_vpid {
        ept_report(e, out);
    }
    out.push(match v.vmfunc {
        Some(f) => format!(
            "  vmfunc controls {f:#x}, eptp switching {}",
            yes(v.vmfunc_eptp_switching)
        ),
        None => String::from("  vmfunc not available"),
    });
    out.push(match &v.feature_control {
        Some(fc) => format!(
            "  ia32_feature_control {:#x}: locked {}, vmx outside smx {}{}",
            fc.raw,
            yes(fc.locked),
            yes(fc.vmx_outside_smx),
            if fc.vmx_locked_off() {
                " (VMX DISABLED BY FIRMWARE)"
            } else {
                ""
            }
        ),
        None => String::from("  ia32_feature_control not read"),
    });
}

fn ept_report(e: &EptVpidCaps, out: &mut Vec<String>) {
    out.push(format!(
        "  ept/vpid caps {:#x}: walk4 {}, walk5 {}, wb {}, uc {}, 2m {}, 1g {}, a/d {}, execute-only {}",
        e.raw,
        yes(e.walk4),
        yes(e.walk5),
        yes(e.wb),
        yes(e.uc),
        yes(e.large_2m),
        yes(e.large_1g),
        yes(e.accessed_dirty),
        yes(e.execute_only)
    ));
    out.push(format!(
        "    invept {} (single {}, all {}), invvpid {}",
        yes(e.invept),
        yes(e.invept_single),
        yes(e.invept_all),
        yes(e.invvpid)
    ));
}

fn svm_report(s: &SvmCaps, out: &mut Vec<String>) {
    out.push(format!(
        "svm: revision {}, {} asids, npt {}, nrip save {}, vmcb clean {}, flush by asid {}, decode assists {}",
        s.revision,
        s.asids,
        yes(s.npt),
        yes(s.nrips),
        yes(s.vmcb_clean),
        yes(s.flush_by_asid),
        yes(s.decode_assists)
    ));
    let hex = |v: Option<u64>| v.map_or(String::from("not read"), |v| format!("{v:#x}"));
    out.push(format!(
        "  efer {}, vm_cr {}{}",
        hex(s.efer),
        hex(s.vm_cr),
        if s.svm_disabled_by_vm_cr {
            " (SVM DISABLED BY FIRMWARE)"
        } else {
            ""
        }
    ));
}
