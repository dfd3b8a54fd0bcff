//! How a vCPU reaches the world ([`Hold`]): owned or borrowed whole by the one vCPU
//! there is (host tests, the fixture), or behind the lock every vCPU of an SMP boot shares
//! ([`Shared`]), taken for one exit's handling or one fast-path decision and never
//! while the guest runs (docs/architecture.md "SMP": a vCPU in its guest holds nothing,
//! so a compartment spinning on another vCPU's progress cannot stall L1).

use super::World;
use crate::port::Memory;
use tessera_core::paging::EntryFormat;

/// The world of an SMP boot, one for every vCPU.
pub type Shared<F, M> = spin::Mutex<World<F, M>>;

/// Access to the world for the span of a closure.
pub trait Hold {
    /// The world's table format.
    type Format: EntryFormat;
    /// The world's memory port.
    type Mem: Memory;

    /// Runs `f` on the world.
    fn with<R>(&mut self, f: impl FnOnce(&mut World<Self::Format, Self::Mem>) -> R) -> R;

    /// Runs `f` on the world, read only.
    fn read<R>(&self, f: impl FnOnce(&World<Self::Format, Self::Mem>) -> R) -> R;
}

impl<F: EntryFormat, M: Memory> Hold for World<F, M> {
    type Format = F;
    type Mem = M;

    #[inline(always)]
    fn with<R>(&mut self, f: impl FnOnce(&mut World<F, M>) -> R) -> R {
        f(self)
    }

    #[inline(always)]
    fn read<R>(&self, f: impl FnOnce(&World<F, M>) -> R) -> R {
        f(self)
    }
}

impl<F: EntryFormat, M: Memory> Hold for &Shared<F, M> {
    type Format = F;
    type Mem = M;

    #[inline(always)]
    fn with<R>(&mut self, f: impl FnOnce(&mut World<F, M>) -> R) -> R {
        f(&mut self.lock())
    }

    #[inline(always)]
    fn read<R>(&self, f: impl FnOnce(&World<F, M>) -> R) -> R {
        f(&self.lock())
    }
}
