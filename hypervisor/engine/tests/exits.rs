//! Every exit class through the run loop, on the fake backend with a real image: what
//! the engine printed, what it did to the CPU, and how the compartment ended.

mod common;

use common::{MEMORY, hello};
use tessera_abi::hypercall as nr;
use tessera_core::exit::{Access, Privileged, VmExit};
use tessera_core::outcome::Outcome;
use tessera_core::paging::Ept;
use tessera_engine::backend::Fields;
use tessera_engine::boot;
use tessera_engine::fake::backend::{Event, FakeCpu, Step};
use tessera_engine::fake::{self, FakeMemory, Lines};
use tessera_engine::ids::ViewId;
use tessera_engine::verdict::Verdict;
use tessera_engine::world::World;

type FakeWorld = World<Ept, FakeMemory>;

fn one(cmdline: &str) -> (FakeWorld, Lines) {
    fake::world(&[(cmdline, hello())], MEMORY).expect("provisioned")
}

fn exit_with(code: u64) -> Step {
    Step::exit(VmExit::Hypercall { len: 3 })
        .reason("vmcall")
        .regs(move |g| {
            g.rax = nr::EXIT;
            g.rdi = code;
        })
}

fn run(world: &mut FakeWorld, script: Vec<Step>) -> (Verdict, FakeCpu) {
    let cpu = FakeCpu::new(Ept::new(true), script);
    let (verdict, vcpu) = boot::run(world, cpu, None);
    (verdict, vcpu.cpu)
}

#[test]
fn a_main_starts_at_its_entry_on_its_stack_and_exits() {
    let (mut world, lines) = one("a");
    let (entry, rsp) = world.view(ViewId(0)).start().expect("image");
    let (verdict, cpu) = run(&mut world, vec![exit_with(0)]);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    assert!(cpu.did(Event::Reset(ViewId(0))));
    assert!(cpu.did(Event::Wrote(Fields::RIP, entry)));
    assert!(cpu.did(Event::Wrote(Fields::RSP, rsp)));
    assert!(lines.has("@@SWITCH mode=emulated"));
    assert!(lines.has("@@EXIT compartment=a code=0"));
    assert_eq!(
        world.view(ViewId(0)).compartment.outcome,
        Some(Outcome::Exited(0))
    );
    let stats = lines.records("STATS");
    assert_eq!(
        stats,
        ["@@STATS compartment=a calls_in=0 calls_out=0 faults=0 restarts=0 exits=1 exits.vmcall=1"]
    );
}

#[test]
fn an_unexpected_exit_code_fails_the_verdict_naming_the_compartment() {
    let (mut world, _) = one("a");
    let (verdict, _) = run(&mut world, vec![exit_with(5)]);
    let Verdict::Fail(reason) = verdict else {
        panic!("passed")
    };
    assert!(reason.starts_with("a:expected-"), "{reason}");
    let (mut world, _) = one("a expect=exit:5");
    assert_eq!(run(&mut world, vec![exit_with(5)]).0, Verdict::Pass);
}

#[test]
fn cpuid_shows_a_minimal_cpu_and_skips_the_instruction() {
    let (mut world, _) = one("a");
    let (entry, _) = world.view(ViewId(0)).start().expect("image");
    let script = vec![
        Step::exit(VmExit::Cpuid { len: 2 })
            .at(entry + 0x10)
            .regs(|g| {
                g.rax = 1;
                g.rcx = 0;
            }),
        exit_with(0).regs(|g| {
            // What the engine left for the guest: leaf 1 without VMX and hypervisor bits.
            assert_eq!(g.rax, 0x306a9);
            assert_eq!(g.rcx & ((1 << 5) | (1 << 31)), 0);
            assert_eq!(g.rcx & 0x1000, 0x1000);
            g.rax = nr::EXIT;
            g.rdi = 0;
        }),
    ];
    let (verdict, cpu) = run(&mut world, script);
    assert_eq!(verdict, Verdict::Pass);
    assert!(cpu.did(Event::Wrote(Fields::RIP, entry + 0x12)));
}

/// One exit that is the compartment's fault, and the `@@FAULT` it must produce: RIP in
/// its image, so the line also says where in the image (4 bytes past hello's entry, as
/// an address in its ELF).
fn faults(exit: VmExit, expected: &str) {
    let (mut world, lines) = one("a expect=fault");
    let (entry, _) = world.view(ViewId(0)).start().expect("image");
    let (verdict, _) = run(&mut world, vec![Step::exit(exit).at(entry + 4)]);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    let base = world.view(ViewId(0)).region.base;
    let line = format!(
        "@@FAULT compartment=a {expected} rip={:#x} offset={:#x}",
        entry + 4,
        entry + 4 - base
    );
    assert!(lines.has(&line), "{line} not in {:?}", lines.all());
    let view = world.view(ViewId(0));
    assert_eq!(view.stats.faults, 1);
    assert_eq!(
        world.info_word(ViewId(0), tessera_abi::gate::info::FAILED),
        1
    );
}

#[test]
fn every_fault_class_stops_the_compartment_with_its_report() {
    faults(
        VmExit::Exception {
            vector: 0,
            error_code: None,
        },
        "kind=exception vector=0 name=divide-error",
    );
    faults(
        VmExit::Exception {
            vector: 13,
            error_code: Some(0),
        },
        "kind=exception vector=13 name=general-protection error=0x0",
    );
    let read = Access {
        read: true,
        ..Access::default()
    };
    faults(
        VmExit::MemoryViolation {
            gpa: 0x1234,
            access: read,
            allowed: Access::default(),
        },
        "kind=memory gpa=0x1234 access=read allowed=---",
    );
    faults(
        VmExit::Privileged(Privileged::Wrmsr(0x10)),
        "kind=privileged action=wrmsr msr=0x10",
    );
    faults(VmExit::Hlt, "kind=privileged action=hlt");
    faults(VmExit::TripleFault, "kind=triple-fault");
    faults(
        VmExit::VmFunc { len: 3 },
        "kind=vmfunc reason=invalid-eptp-switch",
    );
    faults(
        VmExit::VmFuncOutsideSlot,
        "kind=vmfunc reason=outside-own-slot",
    );
}

/// `offset=` only where RIP is in the compartment's own image: not on its stack, not in
/// the gate, not past the image's span.
#[test]
fn a_fault_outside_the_image_has_no_offset() {
    let (world, _) = one("a");
    let region = world.view(ViewId(0)).region;
    for rip in [
        region.stack_top - 8,
        tessera_abi::gate::CODE,
        region.base + 0x19000,
    ] {
        let (mut world, lines) = one("a expect=fault");
        let exit = VmExit::Exception {
            vector: 6,
            error_code: None,
        };
        let (verdict, _) = run(&mut world, vec![Step::exit(exit).at(rip)]);
        assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
        let line = format!(
            "@@FAULT compartment=a kind=exception vector=6 name=invalid-opcode rip={rip:#x}"
        );
        assert!(lines.has(&line), "{line} not in {:?}", lines.all());
    }
    // The image's last byte still is in it.
    let (mut world, lines) = one("a expect=fault");
    let last = region.base + 0x18fff;
    run(&mut world, vec![Step::exit(VmExit::Hlt).at(last)]);
    let line =
        format!("@@FAULT compartment=a kind=privileged action=hlt rip={last:#x} offset=0x18fff");
    assert!(lines.has(&line), "{line} not in {:?}", lines.all());
}

#[test]
fn interrupts_watchdog_ticks_and_single_steps_are_nobodys_fault() {
    let (mut world, lines) = one("a");
    let script = vec![
        Step::exit(VmExit::Interrupt).reason("interrupt"),
        Step::exit(VmExit::Watchdog).reason("watchdog"),
        Step::exit(VmExit::SingleStep).reason("debug"),
        exit_with(0),
    ];
    let (verdict, cpu) = run(&mut world, script);
    assert_eq!(verdict, Verdict::Pass, "{:?}", lines.all());
    assert!(cpu.did(Event::ClearSingleStep));
    assert!(lines.records("FAULT").is_empty());
    assert_eq!(world.view(ViewId(0)).stats.total_exits(), 4);
}

#[test]
fn an_l1_bug_fails_the_boot_naming_the_view() {
    let (mut world, _) = one("a");
    let (verdict, _) = run(
        &mut world,
        vec![Step::exit(VmExit::Misconfig { gpa: 0x5000 })],
    );
    assert_eq!(
        verdict,
        Verdict::Fail("a: ept-misconfiguration gpa=0x5000".into())
    );
    let (mut world, _) = one("a");
    let entry = VmExit::EntryFailure {
        reason: 33,
        qualification: 0,
    };
    let (verdict, _) = run(&mut world, vec![Step::exit(entry)]);
    assert!(matches!(verdict, Verdict::Fail(r) if r.contains("vm-entry-failed reason=33")));
}

#[test]
fn a_script_that_runs_out_is_an_l1_failure_not_a_pass() {
    let (mut world, _) = one("a");
    let (verdict, _) = run(&mut world, vec![]);
    assert_eq!(verdict, Verdict::Fail("the script ended".into()));
}
