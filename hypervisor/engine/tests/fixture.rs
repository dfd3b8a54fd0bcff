//! The VMFUNC conformance fixture (feature `fixture`) as a decorator around the fake
//! backend: a case begins on CONFORMANCE_REPORT and ends with its `@@VMFUNC` line and
//! the compartment put back; an emulated or hardware `VMFUNC` switches to an alias entry;
//! exit 59 is classified; a fetch through an alias root faults where that root says;
//! SWITCH_VIEW and `VMFUNC` outside a case act on the permanent list. Every exit the
//! fixture absorbs is still counted by the run loop.

mod common;

use common::{MEMORY, hello};
use tessera_abi::{error, hypercall as nr};
use tessera_core::cases::{CASE_AREA, Case, EntryForm, MAX_BYTES, Placement, Tables};
use tessera_core::exit::VmExit;
use tessera_core::paging::Ept;
use tessera_core::watchdog::Watchdog;
use tessera_engine::backend::{Backend, Fields};
use tessera_engine::boot;
use tessera_engine::fake::backend::{Event, FakeCpu, Step};
use tessera_engine::fake::{self, FakeMemory, Lines};
use tessera_engine::fixture::{self, Cpu, Fixture, RawViews, slot};
use tessera_engine::ids::ViewId;
use tessera_engine::vcpu::{Flow, Vcpu};
use tessera_engine::world::World;

type FakeWorld = World<Ept, FakeMemory>;
type FixtureVcpu = Vcpu<Fixture<FakeCpu>>;

const C: ViewId = ViewId(0);
/// Where case 0's instruction and landing are (placed in the middle of its first page).
const INSTRUCTION: u64 = CASE_AREA + 0x800;
const LANDING: u64 = CASE_AREA + 0x803;
const CPU: Cpu = Cpu {
    maxphyaddr: 39,
    ept: true,
    ve: true,
};

/// `VMFUNC` with RCX = `rcx` and `entry` at that slot, from the base view.
fn vmfunc(rcx: u64, entry: Option<EntryForm>) -> Case {
    let mut bytes = [0u8; MAX_BYTES];
    bytes[..3].copy_from_slice(&[0x0F, 0x01, 0xD4]);
    Case {
        rax: 0,
        rcx,
        bytes,
        len: 3,
        tf: false,
        movss: false,
        warm: false,
        entry,
        start: Tables::Base,
        place: Placement::Middle,
    }
}

/// The fixture with `cases`, around a fake CPU (with the EPTP-index field) running
/// `script`.
fn fixture(cases: &[Case], script: Vec<Step>) -> (FakeWorld, Lines, FixtureVcpu) {
    let module = fake::module(&tessera_core::cases::encode(cases));
    let modules = [("conformance", hello()), ("cases", module)];
    let (mut world, lines, module) = fake::fixture_world(&modules, MEMORY).expect("provisioned");
    let setup = fixture::install(&mut world, module, CPU).expect("installed");
    let mut cpu = FakeCpu::new(Ept::new(true), script);
    cpu.pointers = world.pointers(0);
    cpu.ve = true;
    let budgets = boot::budgets(&world.manifest, None);
    let decorated = Fixture::new(cpu, setup, Box::new(lines.clone()));
    let mut v = Vcpu::new(decorated, Watchdog::new(budgets, true));
    v.start(&mut world, C).expect("started");
    (world, lines, v)
}

/// CONFORMANCE_REPORT(`case`) from the compartment's code at `rip`, RBX = 0x55.
fn report(rip: u64, case: u64) -> Step {
    Step::exit(VmExit::Hypercall { len: 3 })
        .reason("vmcall")
        .at(rip)
        .regs(move |g| {
            g.rax = nr::CONFORMANCE_REPORT;
            g.rdi = case;
            g.rbx = 0x55;
        })
}

/// The landing `VMCALL` of case 0.
fn landing() -> Step {
    Step::exit(VmExit::Hypercall { len: 3 })
        .reason("vmcall")
        .at(LANDING)
}

/// Steps `n` exits, none of which may break the thread.
fn steps(v: &mut FixtureVcpu, world: &mut FakeWorld, n: usize) {
    for _ in 0..n {
        assert_eq!(v.step(world, C), Ok(None));
    }
}

#[test]
fn install_prints_the_rules_and_writes_the_permanent_list() {
    let (world, lines, v) = fixture(&[], Vec::new());
    assert!(
        lines.has("@@VMFUNC_RULES ad=0 sss=0 walk5=0 uc=1 wb=1 maxphyaddr=39 ve=1 tables=ept"),
        "{:?}",
        lines.all()
    );
    let list = &v.cpu.inner().list;
    assert_eq!(list[slot::BASE], world.view(C).pointer(0));
    for s in [slot::CLONE, slot::LAST] {
        assert_eq!(list[s] & 0xFFF, list[slot::BASE] & 0xFFF, "same form");
        assert_ne!(list[s], list[slot::BASE], "another root");
    }
    assert_eq!(list.iter().filter(|e| **e != 0).count(), 3);
    assert_eq!(
        &world.list(0)[..],
        &list[..],
        "the world's model is the hardware's list"
    );
}

#[test]
fn install_refuses_anything_but_one_fixture_compartment() {
    let modules = [("a", hello())];
    let (mut world, _, _) = fake::fixture_world(&modules, MEMORY).expect("provisioned");
    let e = fixture::install(&mut world, None, CPU).expect_err("not a fixture");
    assert!(e.contains("exactly one compartment"), "{e}");
}

#[test]
fn a_case_switches_to_an_alias_entry_reports_and_puts_the_compartment_back() {
    let clone = EntryForm::plain(Tables::Clone);
    let script = vec![
        report(0x1000, 0),
        Step::ud().at(INSTRUCTION),
        landing(),
        report(0x1003, 1),
    ];
    let (mut world, lines, mut v) = fixture(&[vmfunc(1, Some(clone))], script);
    // CONFORMANCE_REPORT(0): the case's list and registers, at its code.
    steps(&mut v, &mut world, 1);
    assert_eq!(v.state.cached(Fields::RIP), Some(INSTRUCTION));
    assert_eq!((v.state.gprs.rax, v.state.gprs.rcx), (0, 1));
    assert_eq!(v.state.gprs.rdx, 0x10, "the data selector");
    let cpu = v.cpu.inner();
    assert_eq!(
        cpu.loaded_pointer(),
        world.view(C).pointer(0),
        "starts in base"
    );
    let alias = cpu.list[1];
    assert!(alias != 0 && !world.pointers(0).contains(&alias));
    assert!(cpu.list[2..].iter().all(|e| *e == 0));
    // The #UD of its VMFUNC: emulated against the case's list, anywhere.
    steps(&mut v, &mut world, 1);
    assert_eq!(v.cpu.inner().loaded_pointer(), alias);
    assert!(v.cpu.inner().did(Event::LoadPointer(alias, Some(1))));
    assert_eq!(v.state.cached(Fields::RIP), Some(LANDING));
    assert_eq!(
        v.cpu.current_view(),
        C,
        "an alias is the compartment's view"
    );
    // The landing: reported, and the compartment is back where it called.
    steps(&mut v, &mut world, 1);
    let line = "@@VMFUNC case=0 eax=0x0 ecx=0x1 outcome=switch rip=+0x803 view=1 index=1";
    assert_eq!(lines.records("VMFUNC"), [line], "{:?}", lines.all());
    assert_eq!(v.state.cached(Fields::RIP), Some(0x1003));
    assert_eq!((v.state.gprs.rax, v.state.gprs.rbx), (0, 0x55));
    assert_eq!(v.cpu.inner().loaded_pointer(), world.view(C).pointer(0));
    assert_eq!(v.cpu.inner().list, v.cpu.list().to_vec());
    assert_eq!(
        v.cpu.inner().list[1],
        world.list(0)[1],
        "the permanent list"
    );
    // No case 1: BAD_STATE, the hypercall skipped.
    steps(&mut v, &mut world, 1);
    assert_eq!(v.state.gprs.rax, error::BAD_STATE as u64);
    assert_eq!(v.state.cached(Fields::RIP), Some(0x1006));
    assert_eq!(world.counters.exits, 4, "absorbed exits are counted");
}

#[test]
fn a_hardware_switch_to_an_alias_lands_there() {
    let clone = EntryForm::plain(Tables::Clone);
    let script = vec![report(0x1000, 0)];
    let (mut world, lines, mut v) = fixture(&[vmfunc(5, Some(clone))], script);
    v.cpu.inner_mut().hardware = true;
    steps(&mut v, &mut world, 1);
    let alias = v.cpu.list()[5];
    v.cpu
        .inner_mut()
        .script
        .push_back(landing().in_alias(alias, 5));
    steps(&mut v, &mut world, 1);
    let line = "@@VMFUNC case=0 eax=0x0 ecx=0x5 outcome=switch rip=+0x803 view=5 index=5";
    assert_eq!(lines.records("VMFUNC"), [line]);
}

#[test]
fn exit_59_resumes_after_the_instruction_and_reports_what_follows() {
    let cases = [vmfunc(512, None)];
    // Emulated: the #UD's VMFUNC fails, then the landing runs.
    let script = vec![report(0x1000, 0), Step::ud().at(INSTRUCTION), landing()];
    let (mut world, lines, mut v) = fixture(&cases, script);
    steps(&mut v, &mut world, 2);
    assert_eq!(
        v.state.cached(Fields::RIP),
        Some(LANDING),
        "past the instruction"
    );
    steps(&mut v, &mut world, 1);
    let line = "@@VMFUNC case=0 eax=0x0 ecx=0x200 outcome=exit59 rip=+0x803 view=0 index=0";
    assert_eq!(lines.records("VMFUNC"), [line]);
    // Hardware: exit 59 itself, then a single step that survived it.
    let exit59 = Step::exit(VmExit::VmFunc { len: 3 }).at(INSTRUCTION);
    let db = Step::exit(VmExit::SingleStep).at(LANDING);
    let script = vec![report(0x1000, 0), exit59, db];
    let (mut world, lines, mut v) = fixture(&cases, script);
    v.cpu.inner_mut().hardware = true;
    steps(&mut v, &mut world, 3);
    let line = "@@VMFUNC case=0 eax=0x0 ecx=0x200 outcome=exit59+db rip=+0x803 view=0 index=0";
    assert_eq!(lines.records("VMFUNC"), [line]);
}

#[test]
fn an_instruction_is_fetched_through_the_alias_the_case_starts_in() {
    // The VMFUNC straddles the case's pages, in tables where the second is unmapped.
    let case = Case {
        start: Tables::NextUnmapped,
        place: Placement::Straddle(1),
        ..vmfunc(1, Some(EntryForm::plain(Tables::Clone)))
    };
    let script = vec![report(0x1000, 0), Step::ud().at(CASE_AREA + 0xFFF)];
    let (mut world, lines, mut v) = fixture(&[case], script);
    steps(&mut v, &mut world, 1);
    assert!(!world.pointers(0).contains(&v.cpu.inner().loaded_pointer()));
    steps(&mut v, &mut world, 1);
    let line =
        "@@VMFUNC case=0 eax=0x0 ecx=0x1 outcome=ept-violation:x@+0x1000 rip=+0xfff view=0 index=0";
    assert_eq!(lines.records("VMFUNC"), [line]);
}

#[test]
fn a_warm_case_runs_once_from_the_base_view_first() {
    let case = Case {
        warm: true,
        start: Tables::NextNx,
        ..vmfunc(600, None)
    };
    let script = vec![report(0x1000, 0), landing(), landing()];
    let (mut world, lines, mut v) = fixture(&[case], script);
    steps(&mut v, &mut world, 2);
    assert!(
        lines.records("VMFUNC").is_empty(),
        "the warm-up is not reported"
    );
    assert!(!world.pointers(0).contains(&v.cpu.inner().loaded_pointer()));
    steps(&mut v, &mut world, 1);
    assert_eq!(lines.records("VMFUNC").len(), 1);
}

#[test]
fn switch_view_and_vmfunc_outside_a_case_use_the_permanent_list() {
    let switch_view = |slot: u64| {
        Step::exit(VmExit::Hypercall { len: 3 })
            .at(0x2000)
            .regs(move |g| {
                g.rax = nr::SWITCH_VIEW;
                g.rdi = slot;
            })
    };
    let back = Step::exit(VmExit::VmFuncUd { len: 3 })
        .at(0x3000)
        .regs(|g| (g.rax, g.rcx) = (0, 0));
    let bad = Step::exit(VmExit::VmFuncUd { len: 3 })
        .at(0x3000)
        .regs(|g| g.rcx = 7);
    let script = vec![switch_view(slot::CLONE as u64), switch_view(2), back, bad];
    let (mut world, lines, mut v) = fixture(&[], script);
    let clone = world.list(0)[slot::CLONE];
    steps(&mut v, &mut world, 1);
    assert_eq!(v.state.gprs.rax, 0);
    assert_eq!(v.cpu.inner().loaded_pointer(), clone);
    assert!(
        v.cpu.inner().did(Event::LoadPointer(clone, None)),
        "no index"
    );
    assert_eq!(v.state.cached(Fields::RIP), Some(0x2003));
    // An empty slot: refused, nothing loaded.
    steps(&mut v, &mut world, 1);
    assert_eq!(v.state.gprs.rax, error::BAD_STATE as u64);
    assert_eq!(v.cpu.inner().loaded_pointer(), clone);
    // VMFUNC from anywhere in the compartment: emulated with the permanent list.
    steps(&mut v, &mut world, 1);
    assert_eq!(v.cpu.inner().loaded_pointer(), world.view(C).pointer(0));
    assert_eq!(v.state.cached(Fields::RIP), Some(0x3003));
    // One that fails is the compartment's own fault, as everywhere.
    assert_eq!(v.step(&mut world, C), Ok(Some(Flow::MainOver)));
    let faults = lines.records("FAULT");
    assert!(
        faults[0].starts_with("@@FAULT compartment=conformance kind=vmfunc reason=invalid-eptp"),
        "{faults:?}"
    );
    assert_eq!(world.counters.exits, 4);
}
