//! What the attack compartments (`compartments/attack-*`) share: where their targets are,
//! in one place ([`layout`]), and how they report.
//!
//! Every attack prints one line saying what it is about to do, then does it. If the
//! attack ever succeeds, it prints a line ending in `not contained` and exits 1: the
//! tests fail on any `not contained` line.
#![no_std]

use core::arch::asm;
use core::fmt;
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};

use tessera_sdk::abi::gate;
use tessera_sdk::println;

/// Where things are, as the hypervisor lays out guest-physical memory
/// (hypervisor/core/src/layout.rs, docs/manifest.md "Where things go") and as the attack
/// scenarios (compartments/scenarios/*/tessera.toml) order their compartments.
pub mod layout {
    /// Guest page tables (PML4, PDPT, PDs): read-only in every view.
    pub const PAGE_TABLES: u64 = 0x0010_0000;
    /// The GDT page (GDT, then the TSS at +0x800): read-only in every view.
    pub const GDT: u64 = 0x0010_8000;
    /// A view's data window: its data directory page (manifest `data` lines), its data
    /// entries from `DATA_BASE + 0x2000`; mapped only in the view the lines name.
    pub const DATA_BASE: u64 = 0x0030_0000;
    /// First grant: grants are placed from here in manifest order.
    pub const FIRST_GRANT: u64 = 0x0040_0000;
    /// First compartment region: view 0's image starts here.
    pub const REGIONS_BASE: u64 = 0x0100_0000;
    /// Regions are 2 MiB-aligned and a multiple of 2 MiB: `[image][guard]…[stack][guard]`.
    pub const REGION_ALIGN: u64 = 0x20_0000;

    /// Every scenario lists `victim` first: it is view 0 ...
    pub const VICTIM_VIEW: u64 = 0;
    /// ... and its image starts at the first region (its ELF headers and read-only data
    /// are in its first page).
    pub const VICTIM_BASE: u64 = REGIONS_BASE;
    /// The attacker listed second, after a victim whose image, guards and stack fit in
    /// 2 MiB (the victim's do), starts at the second region. Only informative: attacks
    /// learn their own view from the info page ([`super::own_view`]).
    pub const SECOND_REGION: u64 = REGIONS_BASE + REGION_ALIGN;

    /// The victim's exports, by index: their position in its manifest `exports=` list,
    /// which every scenario writes as `["secret_len", "ping", "regs_probe"]`.
    pub mod victim_exports {
        pub const SECRET_LEN: u64 = 0;
        pub const PING: u64 = 1;
        pub const REGS_PROBE: u64 = 2;
    }
}

/// What the victim's `regs_probe` leaves in every scratch register it may change (and the
/// gate must scrub before returning to the caller).
pub const VICTIM_REGS_PATTERN: u64 = 0x5EC2_E7F0_0D5E_C2E7;
/// What `attack-scrub` puts in its callee-saved registers before a call (the gate must
/// not let the callee see them).
pub const CALLER_REGS_PATTERN: u64 = 0xCA11_E2C0_FFEE_CA11;

/// This view's index in the EPTP list (= its gate slot), from its read-only info page.
pub fn own_view() -> u64 {
    // SAFETY: the info page is mapped read-only in every view at gate::INFO (ABI); this
    // is an aligned u64 inside it.
    let magic =
        unsafe { ptr::read_volatile((gate::INFO + gate::info::MAGIC_OFFSET) as *const u64) };
    if magic != gate::info::MAGIC {
        println!("attack-kit: info page magic is {magic:#x}, not TESSERA1");
    }
    // SAFETY: as above.
    unsafe { ptr::read_volatile((gate::INFO + gate::info::VIEW) as *const u64) }
}

/// Reports a successful attack: prints `NAME: WHAT: not contained` and returns the
/// exit code 1 for `main` to return.
pub fn not_contained(name: &str, what: fmt::Arguments<'_>) -> i32 {
    println!("{name}: {what}: not contained");
    1
}

/// Executes `VMFUNC` (`0F 01 D4`) with EAX = `function`, ECX = `index`, from wherever
/// this function was inlined: the attacker's own code, never the gate.
///
/// # Safety
///
/// None that Rust can state: this switches EPT views under the running code, which is the
/// attack. Call it only from an attack compartment, which the hypervisor must stop.
#[inline(always)]
pub unsafe fn vmfunc(function: u32, index: u32) {
    // SAFETY: the caller's contract (see above). VMFUNC changes no register or flag
    // (Intel SDM Vol. 2B, VMFUNC); should execution continue, nothing was clobbered.
    unsafe {
        asm!(
            "vmfunc",
            in("eax") function,
            in("ecx") index,
            options(nostack, preserves_flags),
        );
    }
}

/// The registers [`call_at`] loads before it calls: enough to pose as a gate call (R11 =
/// view, RAX = export index, RDI = first argument, R12 = [`gate::op`]) or as a switch
/// through a slot (EAX = VMFUNC leaf, ECX = target view, R12 = op, RBX = export or
/// status, R13 = result, R14 = the caller's frame index). Every other argument register
/// is zero.
#[derive(Clone, Copy, Debug, Default)]
pub struct Regs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
}

/// State [`call_at`] leaves behind right before it calls (what must not cross the gate):
/// RFLAGS (e.g. DF or AC set), a selector loaded into DS, ES, FS and GS (0: none), and a
/// value written to CR2 (0: none).
#[derive(Clone, Copy, Debug)]
pub struct Dirt {
    pub rflags: u64,
    pub selector: u16,
    pub cr2: u64,
}

impl Default for Dirt {
    fn default() -> Self {
        Dirt {
            rflags: 0x202,
            selector: 0,
            cr2: 0,
        }
    }
}

/// What [`call_at`] found right after the call came back, before any compiled code ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    pub rflags: u64,
    /// DS, ES, FS, GS, SS.
    pub segments: [u64; 5],
    pub cr2: u64,
}

/// Where [`call_at`] keeps its stack pointer while `target` runs.
static SAVED_RSP: AtomicU64 = AtomicU64::new(0);
/// The RBX [`call_at`] loads (RBX cannot be an asm operand).
static RBX: AtomicU64 = AtomicU64::new(0);
/// [`Dirt`] as [`call_at`]'s assembly reads it: RFLAGS, selector, CR2.
static DIRT: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];
/// [`Observed`] as [`call_at`]'s assembly writes it: RFLAGS, DS, ES, FS, GS, SS, CR2.
static OBSERVED: [AtomicU64; 7] = [const { AtomicU64::new(0) }; 7];

/// The state the last [`call_at`] came back with.
pub fn observed() -> Observed {
    let v = |i: usize| OBSERVED[i].load(Ordering::Relaxed);
    Observed {
        rflags: v(0),
        segments: [v(1), v(2), v(3), v(4), v(5)],
        cr2: v(6),
    }
}

/// `call`s `target` with `regs` loaded and `dirt` left in RFLAGS, the data segments and
/// CR2, and returns RAX and RDX, should it ever return ([`observed`] then says what state
/// it came back with).
///
/// Code entered in the wrong place may return with the stack unbalanced (the gate's
/// epilogue popping more than was pushed, then `ret` taking the next word as the return
/// address). So the return address is also stored twice above the call's own, RSP is
/// saved in a static, and after the call RSP, RBP and RBX come back from there: whatever
/// `target` did to the stack, control and this function's frame come back intact. DF is
/// cleared again before any compiled code runs.
///
/// # Safety
///
/// None that Rust can state: `target` is code this compartment does not own (the gate,
/// entered where it must not be). Call it only from an attack compartment, which the
/// hypervisor must stop. If `target` returns, it must not have written this
/// compartment's memory other than below the saved stack pointer.
pub unsafe fn call_at_dirty(target: u64, regs: Regs, dirt: Dirt) -> (u64, u64) {
    RBX.store(regs.rbx, Ordering::Relaxed);
    DIRT[0].store(dirt.rflags, Ordering::Relaxed);
    DIRT[1].store(dirt.selector.into(), Ordering::Relaxed);
    DIRT[2].store(dirt.cr2, Ordering::Relaxed);
    let (rax, rdx): (u64, u64);
    // SAFETY: the caller's contract. RBX and RBP (which cannot be operands) are saved on
    // the stack and restored from there through the saved RSP; four pushes keep RSP
    // 16-byte aligned at the call. Every other register is declared clobbered; the
    // segment registers and CR2 are not used by compiled code in 64-bit mode, and DF is
    // cleared before the asm ends.
    unsafe {
        asm!(
            "push rbx",
            "push rbp",
            "lea rbx, [rip + 2f]",
            "push rbx",
            "push rbx",
            "mov [rip + {saved}], rsp",
            "push rax",
            "mov rax, [rip + {dirt} + 8]",
            "test rax, rax",
            "jz 3f",
            "mov ds, eax",
            "mov es, eax",
            "mov fs, eax",
            "mov gs, eax",
            "3:",
            "mov rax, [rip + {dirt} + 16]",
            "test rax, rax",
            "jz 4f",
            "mov cr2, rax",
            "4:",
            "pop rax",
            "mov rbx, [rip + {rbx}]",
            "push qword ptr [rip + {dirt}]",
            "popfq",
            "call r15",
            "2:",
            "mov rsp, [rip + {saved}]",
            "pushfq",
            "pop qword ptr [rip + {obs}]",
            "mov ecx, ds",
            "mov [rip + {obs} + 8], rcx",
            "mov ecx, es",
            "mov [rip + {obs} + 16], rcx",
            "mov ecx, fs",
            "mov [rip + {obs} + 24], rcx",
            "mov ecx, gs",
            "mov [rip + {obs} + 32], rcx",
            "mov ecx, ss",
            "mov [rip + {obs} + 40], rcx",
            "mov rcx, cr2",
            "mov [rip + {obs} + 48], rcx",
            "cld",
            "add rsp, 16",
            "pop rbp",
            "pop rbx",
            saved = sym SAVED_RSP,
            rbx = sym RBX,
            dirt = sym DIRT,
            obs = sym OBSERVED,
            inlateout("r15") target => _,
            inlateout("r12") regs.r12 => _,
            inlateout("r13") regs.r13 => _,
            inlateout("r14") regs.r14 => _,
            inlateout("rax") regs.rax => rax,
            inlateout("rcx") regs.rcx => _,
            inlateout("rdx") regs.rdx => rdx,
            inlateout("rdi") regs.rdi => _,
            inlateout("rsi") regs.rsi => _,
            inlateout("r8") 0u64 => _,
            inlateout("r9") 0u64 => _,
            inlateout("r10") 0u64 => _,
            inlateout("r11") regs.r11 => _,
            clobber_abi("sysv64"),
        );
    }
    (rax, rdx)
}

/// [`call_at_dirty`] with clean state.
///
/// # Safety
///
/// As [`call_at_dirty`].
pub unsafe fn call_at(target: u64, regs: Regs) -> (u64, u64) {
    // SAFETY: the caller's contract.
    unsafe { call_at_dirty(target, regs, Dirt::default()) }
}

/// Enters `target` with IRETQ and `rflags` (e.g. TF set: IRETQ makes the trap come after
/// the first instruction at `target`), with `regs` loaded. Never returns here.
///
/// # Safety
///
/// None that Rust can state: this is an attack; the hypervisor must contain it.
pub unsafe fn iretq_to(target: u64, regs: Regs, rflags: u64) -> ! {
    RBX.store(regs.rbx, Ordering::Relaxed);
    // SAFETY: the caller's contract: control leaves this compartment's code for good.
    unsafe {
        asm!(
            "mov rbx, [rip + {rbx}]",
            "mov r15, ss",
            "push r15",
            "push rsp",
            "add qword ptr [rsp], 8",
            "push {flags}",
            "mov r15, cs",
            "push r15",
            "push {target}",
            "iretq",
            rbx = sym RBX,
            flags = in(reg) rflags,
            target = in(reg) target,
            in("r12") regs.r12,
            in("r13") regs.r13,
            in("r14") regs.r14,
            in("rax") regs.rax,
            in("rcx") regs.rcx,
            in("rdx") regs.rdx,
            in("rdi") regs.rdi,
            in("rsi") regs.rsi,
            in("r11") regs.r11,
            options(noreturn),
        );
    }
}

/// Property 3: calls into the gate at `target` (not its entry point) posing as a call of
/// `victim.ping(MAGIC)`, which the scenario's manifest does not permit. If the victim's
/// `ping` answers, the gate was bypassed: `not contained`. Returns `main`'s exit code.
pub fn gate_jump(name: &str, target: u64) -> i32 {
    const MAGIC: u64 = 0x6A7E_6A7E_6A7E;
    println!(
        "{name}: calling into the gate at {target:#x}, posing as victim.ping({MAGIC:#x}) (not permitted)"
    );
    let regs = Regs {
        rax: layout::victim_exports::PING,
        rdi: MAGIC,
        r11: layout::VICTIM_VIEW,
        r12: gate::op::CALL,
        ..Regs::default()
    };
    // SAFETY: deliberately malicious (property 3); see `call_at`.
    let (rax, rdx) = unsafe { call_at(target, regs) };
    if rdx == gate::status::OK && rax == MAGIC {
        return not_contained(
            name,
            format_args!("victim.ping answered through {target:#x}"),
        );
    }
    println!("{name}: came back without reaching the victim (rax={rax:#x} status={rdx}): refused");
    0
}

/// Property 5: reads the u64 at `addr` and writes the same value back: a write that
/// succeeds proves the memory writable without damaging it. Returns `main`'s exit code.
///
/// # Safety
///
/// None that Rust can state: `addr` is memory this compartment must not write. Call it
/// only from an attack compartment, which the hypervisor must stop at the write.
pub unsafe fn rewrite_u64(name: &str, what: &str, addr: u64) -> i32 {
    let p = core::hint::black_box(addr as *mut u64);
    // SAFETY: the caller's contract; `addr` is readable in every view (page tables, GDT,
    // info page: R--) and aligned.
    let value = unsafe { ptr::read_volatile(p) };
    println!("{name}: writing {value:#x} back to {what} at {addr:#x}");
    // SAFETY: the caller's contract: this is the attack, which must fault.
    unsafe { ptr::write_volatile(p, value) };
    not_contained(name, format_args!("wrote {what} at {addr:#x}"))
}
