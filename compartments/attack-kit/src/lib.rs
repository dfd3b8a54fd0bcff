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
use core::sync::atomic::AtomicU64;

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
/// through a slot (EAX = VMFUNC leaf, ECX = target view). Every other argument register
/// is zero.
#[derive(Clone, Copy, Debug, Default)]
pub struct Regs {
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rdi: u64,
    pub r11: u64,
    pub r12: u64,
}

/// Where [`call_at`] keeps its stack pointer while `target` runs.
static SAVED_RSP: AtomicU64 = AtomicU64::new(0);

/// `call`s `target` with `regs` loaded and returns RAX and RDX, should it ever return.
///
/// Code entered in the wrong place may return with the stack unbalanced (the gate's
/// epilogue popping more than was pushed, then `ret` taking the next word as the return
/// address). So the return address is also stored twice above the call's own, RSP is
/// saved in a static, and after the call RSP, RBP and RBX come back from there: whatever
/// `target` did to the stack, control and this function's frame come back intact.
///
/// # Safety
///
/// None that Rust can state: `target` is code this compartment does not own (the gate,
/// entered where it must not be). Call it only from an attack compartment, which the
/// hypervisor must stop. If `target` returns, it must not have written this
/// compartment's memory other than below the saved stack pointer.
pub unsafe fn call_at(target: u64, regs: Regs) -> (u64, u64) {
    let (rax, rdx): (u64, u64);
    // SAFETY: the caller's contract. RBX and RBP (which cannot be operands) are saved on
    // the stack and restored from there through the saved RSP; four pushes keep RSP
    // 16-byte aligned at the call. Every other register is declared clobbered.
    unsafe {
        asm!(
            "push rbx",
            "push rbp",
            "lea rbx, [rip + 2f]",
            "push rbx",
            "push rbx",
            "mov [rip + {saved}], rsp",
            "call r13",
            "2:",
            "mov rsp, [rip + {saved}]",
            "add rsp, 16",
            "pop rbp",
            "pop rbx",
            saved = sym SAVED_RSP,
            inlateout("r13") target => _,
            inlateout("r12") regs.r12 => _,
            inlateout("rax") regs.rax => rax,
            inlateout("rcx") regs.rcx => _,
            inlateout("rdx") regs.rdx => rdx,
            inlateout("rdi") regs.rdi => _,
            inlateout("rsi") 0u64 => _,
            inlateout("r8") 0u64 => _,
            inlateout("r9") 0u64 => _,
            inlateout("r10") 0u64 => _,
            inlateout("r11") regs.r11 => _,
            lateout("r14") _,
            lateout("r15") _,
            clobber_abi("sysv64"),
        );
    }
    (rax, rdx)
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
