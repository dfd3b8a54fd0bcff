//! Restarting a compartment from its pristine image (docs/manifest.md, "Lifecycle").
//!
//! A compartment with `restart = "on-fault"` that L1 stops for a fault is not stopped for
//! good: [`World::fail`] marks it *pending* (its gate then refuses calls with
//! `RESTARTING`), and [`World::restart_ready`] restarts it as soon as none of its frames
//! is on the call chain any more — at once when it was called from an idle state (the
//! usual case: its caller gets `CALLEE_FAILED`, its next call finds it restarted), or
//! once the thread has unwound through it. Nobody is ever resumed on the faulting
//! compartment's old frames: they are gone before its memory is rewritten.
//!
//! A restart rewrites the compartment's own frames, at the same guest-physical
//! addresses (no second-level table changes): every image page that differs from the
//! pristine copy the loader kept, after checking that copy against the SHA-256 it had at
//! load (a mismatch is an L1 bug: the boot fails); every heap and stack page that is not
//! zero (its stack on every vCPU, its CPU-local page on every vCPU and its shared page
//! too), and every page of the call buffers of its edges (to it and from it, on every
//! vCPU) that is not zero; its state page on every vCPU (zeroed: no frames, the call
//! counts carried into its stats; then the idle stack and data selector L1 gives every
//! view's gate, `World::reset_stack`); its info page's FAILED word (0) and RESTARTS word
//! on every vCPU. Grants are shared and kept (a peer may be using one across calls; a
//! call buffer is used only within a call, and none of the compartment's calls is
//! pending). Its export addresses stay valid (the image is the same), so nothing runs to
//! re-register them; a compartment whose `main` was running when it faulted runs `main`
//! again from its entry point, one whose `main` had returned stays idle with its exports
//! callable, and its
//! final outcome is the one it had before the fault, until it ends again.

use super::{Status, World};
use crate::ids::ViewId;
use crate::port::{Frames, Memory, PAGE};
use alloc::string::String;
use tessera_abi::gate::{info, status};
use tessera_core::outcome::Outcome;
use tessera_core::paging::EntryFormat;
use tessera_core::sha256::{self, Digest};

/// An image as loaded, kept to restart from.
#[derive(Debug)]
pub struct Pristine {
    /// A copy of the loaded image's `span` bytes (never mapped in any view).
    pub frames: Frames,
    /// Its SHA-256 at load.
    pub digest: Digest,
}

/// Where a compartment is in its life.
#[derive(Debug, Default)]
pub struct Lifecycle {
    /// Times it was restarted.
    pub restarts: u32,
    /// Stopped for a fault and to be restarted once its frames are off the call chain:
    /// the fault's kind, its status and outcome before the fault.
    pub pending: Option<(&'static str, Status, Option<Outcome>)>,
    /// Calls (in, out) the state pages it had before its restarts counted.
    pub carried_calls: (u64, u64),
    /// The stop barrier of its last stop: each other vCPU that ran a thread then, with
    /// its exit count at that moment. A restart waits until each has exited since (at
    /// that exit it unwound the compartment if it executed it, and from then on its gate
    /// reads FAILED): only then can no vCPU be executing it, not even inside its gate
    /// before its IN frame is pushed.
    pub barrier: alloc::vec::Vec<(usize, u64)>,
}

/// What one restart did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restarted {
    pub view: ViewId,
    /// Pages rewritten: image pages that differed from the pristine copy, heap, stack,
    /// CPU-local, shared and call-buffer pages that were not zero.
    pub dirty: u64,
    /// TSC ticks it took (the check, the rewrite, the resets; not its transcript line).
    pub ticks: u64,
}

impl<F: EntryFormat, M: Memory> World<F, M> {
    /// Marks a compartment stopped for a fault of `kind` (its outcome, until a restart):
    /// its gate refuses calls from now on, with
    /// `RESTARTING` if its policy restarts it (then [`World::restart_ready`] does), else
    /// `CALLEE_FAILED` for good. Its call stack stays: L1 unwinds it
    /// (`tessera_core::contain::settle`).
    pub fn fail(&mut self, view: ViewId, kind: &'static str) {
        let restarts = self.view(view).lifecycle.restarts;
        let decl = &self.manifest.compartments[view.index()];
        let again = decl.restarts_after_fault(restarts) && self.view(view).pristine.is_some();
        let v = self.view_mut(view);
        if again && v.lifecycle.pending.is_none() {
            let before = (v.status_before_fault(), v.outcome_before_fault());
            v.lifecycle.pending = Some((kind, before.0, before.1));
        }
        self.counters.stops += 1;
        let barrier = (0..self.cpus())
            .filter(|&j| self.running_on(j).is_some())
            .map(|j| (j, self.exits_on(j)))
            .collect();
        let v = self.view_mut(view);
        v.lifecycle.barrier = barrier;
        v.compartment.outcome = Some(Outcome::Faulted(kind));
        v.compartment.status = Status::Failed;
        v.stats.faults += 1;
        let refusal = if again {
            status::RESTARTING
        } else {
            status::CALLEE_FAILED
        };
        self.set_info_word(view, info::FAILED, refusal);
    }

    /// Restarts every compartment waiting for it that is off every thread of control.
    /// On vCPU `cpu`, whose thread just broke or ended: all of them once its `main` is
    /// over (`main_over`), else those other than its `main` with no frame there. On
    /// every other vCPU: no frame there and not the `main` it runs. `now` reads the TSC
    /// (what a restart took is in its `@@RESTART` line). `Err` is an L1 bug (a pristine
    /// copy changed).
    pub fn restart_ready(
        &mut self,
        (cpu, main, main_over): (usize, ViewId, bool),
        now: &dyn Fn() -> u64,
    ) -> Result<(), String> {
        for id in self.ids() {
            if self.view(id).lifecycle.pending.is_none() {
                continue;
            }
            let here = main_over || (id != main && self.depth_on(cpu, id) == 0);
            let elsewhere = (0..self.cpus())
                .filter(|&j| j != cpu)
                .all(|j| self.depth_on(j, id) == 0 && self.running_on(j) != Some(id));
            // Every vCPU that ran when it was stopped has exited since (or ended its
            // thread): this one is handling an exit now.
            let crossed =
                self.view(id).lifecycle.barrier.iter().all(|&(j, at)| {
                    j == cpu || self.running_on(j).is_none() || self.exits_on(j) > at
                });
            if here && elsewhere && crossed {
                let done = self.restart(id, now)?;
                log::debug!("restarted {}: {} dirty page(s)", done.view, done.dirty);
            }
        }
        Ok(())
    }

    /// Restarts `id` from its pristine image (the module header says what that resets).
    pub fn restart(&mut self, id: ViewId, now: &dyn Fn() -> u64) -> Result<Restarted, String> {
        let Some((kind, status, outcome)) = self.view_mut(id).lifecycle.pending.take() else {
            return Err(alloc::format!("{id} has no restart pending"));
        };
        let start = now();
        let dirty = self.rewrite(id)?;
        let (calls_in, calls_out) = self.call_counts(id);
        let World { mem, views, .. } = self;
        for root in &views[id.index()].roots {
            mem.bytes_mut(&root.state).fill(0);
        }
        self.reset_stack(id);
        let v = self.view_mut(id);
        v.lifecycle.carried_calls.0 += calls_in;
        v.lifecycle.carried_calls.1 += calls_out;
        v.lifecycle.restarts += 1;
        v.stats.restarts += 1;
        v.compartment.status = status;
        v.compartment.outcome = outcome;
        let count = v.lifecycle.restarts;
        let name = v.compartment.name.clone();
        self.set_info_word(id, info::RESTARTS, u64::from(count));
        self.set_info_word(id, info::FAILED, 0);
        let ticks = now().wrapping_sub(start);
        self.line(format_args!(
            "@@RESTART compartment={name} reason={kind} count={count} dirty={dirty} ticks={ticks}"
        ));
        Ok(Restarted {
            view: id,
            dirty,
            ticks,
        })
    }

    /// Rewrites `id`'s image from its pristine copy (checked first) and zeroes its heap,
    /// its stack and the call buffers of its edges, touching only pages that differ;
    /// returns how many did.
    fn rewrite(&mut self, id: ViewId) -> Result<u64, String> {
        let World {
            mem,
            views,
            channels,
            ..
        } = self;
        let view = &views[id.index()];
        let (Some(image), Some(pristine)) = (&view.image, &view.pristine) else {
            return Err(alloc::format!("{id} has no pristine image"));
        };
        let span = image.plan.span as usize;
        if sha256::digest(&mem.bytes(&pristine.frames)[..span]) != pristine.digest {
            return Err(alloc::format!(
                "the pristine image of '{}' changed since it was loaded",
                view.name()
            ));
        }
        let mut dirty = 0;
        let mut page = [0u8; PAGE as usize];
        for i in 0..span.div_ceil(PAGE as usize) {
            let at = pristine.frames.start() + i as u64 * PAGE;
            page.copy_from_slice(mem.page(at).ok_or("a pristine page is not L1's")?);
            dirty += rewrite_page(mem.bytes_mut(&image.frames), i, &page);
        }
        let mut zones = alloc::vec![&image.heap, &image.stack, &view.pages.shared];
        for root in &view.roots {
            zones.push(&root.local);
            zones.extend(&root.stack);
        }
        // The call buffers of its edges, both ways, on every vCPU: they hold what its old
        // life sent and received (scenario `redteam`, `attack-residue`). None of its frames
        // is on the chain, so no call over them is pending, and each side writes a buffer
        // before it hands control over: the peer loses nothing.
        let buffers = channels.iter().filter(|c| c.caller == id || c.callee == id);
        zones.extend(buffers.flat_map(|c| &c.frames));
        for zone in zones {
            for i in 0..zone.pages() {
                dirty += zero_page(mem.bytes_mut(zone), i);
            }
        }
        Ok(dirty)
    }
}

/// Makes page `i` of `bytes` hold `want`: 1 if it had to, else 0.
fn rewrite_page(bytes: &mut [u8], i: usize, want: &[u8; PAGE as usize]) -> u64 {
    let page = &mut bytes[i * PAGE as usize..(i + 1) * PAGE as usize];
    if same(page, want) {
        return 0;
    }
    page.copy_from_slice(want);
    1
}

/// Makes page `i` of `bytes` zero: 1 if it was not, else 0.
fn zero_page(bytes: &mut [u8], i: usize) -> u64 {
    let page = &mut bytes[i * PAGE as usize..(i + 1) * PAGE as usize];
    if page.chunks_exact(8).fold(0, |acc, w| acc | word(w)) == 0 {
        return 0;
    }
    page.fill(0);
    1
}

/// Whether `a` and `b` hold the same bytes, compared a u64 at a time and without a
/// branch per word: L1 is built without SSE, where `==` on byte slices is a
/// byte-at-a-time `memcmp` (docs/benchmarks.md, `r`).
fn same(a: &[u8], b: &[u8]) -> bool {
    let differ = a
        .chunks_exact(8)
        .zip(b.chunks_exact(8))
        .fold(0, |acc, (x, y)| acc | (word(x) ^ word(y)));
    a.len() == b.len() && differ == 0
}

fn word(w: &[u8]) -> u64 {
    u64::from_ne_bytes(w.try_into().unwrap_or_default())
}
