//! The guest-physical planner (DESIGN.md §5): where each grant and each compartment
//! region goes, given the manifest and the size of each image.
//!
//! ```text
//! 0x0010_0000  guest page tables (guest::PAGE_TABLES_GPA)       fixed, read-only
//! 0x0010_8000  GDT + TSS page (guest::GDT_GPA)                  fixed, read-only
//! 0x0020_0000  gate region (gate::SLOTS .. gate::END)           fixed, per view
//! 0x0030_0000  data window (DATA_BASE): a view's data directory, then its data
//!              entries, each followed by an unmapped guard page    per view, R--
//! 0x0040_0000  grants, in manifest order, each followed by an unmapped guard page,
//!              then one call buffer per `calls` edge, each followed by a guard page
//! 0x0100_0000  compartment regions, in view order, contiguous, each 2 MiB-aligned:
//!              [image span][guard][... unmapped ...][heap][guard][stack][guard]
//!   .. 4 GiB   guest::IDENTITY_LIMIT: nothing is placed at or above it
//! ```
//!
//! Every region starts 2 MiB-aligned (the largest `p_align` an image may ask for) and
//! ends with the guard page above its stack, so the next region's image is separated from
//! this stack by that guard page; a guard page lies between the heap and the stack, and
//! at least one between the image and the heap (manifest `heap=`).

use crate::guest;
use crate::manifest::{MAX_COMPARTMENTS, Manifest};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use tessera_abi::gate;

mod channels;
pub use channels::ChannelPlacement;

/// Bytes of each unmapped guard page.
pub const GUARD: u64 = guest::GUARD;
/// A view's data directory page (`tessera_abi::gate::data`); its data entries follow,
/// after a guard page, each followed by one ([`place_data`]).
pub const DATA_BASE: u64 = 0x0030_0000;
/// A view's data entries (and the guard page after each) end at or below this address.
pub const DATA_LIMIT: u64 = GRANTS_BASE;
/// First grant's guest-physical address.
pub const GRANTS_BASE: u64 = 0x0040_0000;
/// Grants (and the guard page after each) end at or below this address.
pub const GRANTS_LIMIT: u64 = REGIONS_BASE;
/// First compartment region's base.
pub const REGIONS_BASE: u64 = guest::REGIONS_BASE;
/// Region alignment and size granularity: a 2 MiB large page.
pub const REGION_ALIGN: u64 = 0x20_0000;
/// The fixed areas every view maps, as `(start, length)`: guest page tables, the GDT
/// page, the gate region (slots, code, info, state and channel pages).
pub const FIXED: [(u64, u64); 3] = [
    (guest::PAGE_TABLES_GPA, guest::PAGE_TABLE_PAGES * 0x1000),
    (guest::GDT_GPA, 0x1000),
    (gate::SLOTS, gate::END - gate::SLOTS),
];

// The fixed areas are ordered, each followed by at least a guard page before the next
// area or the grants; the grants end below the regions, which start 2 MiB-aligned.
const _: () = assert!(FIXED[0].0 + FIXED[0].1 + GUARD <= FIXED[1].0);
const _: () = assert!(FIXED[1].0 + FIXED[1].1 + GUARD <= FIXED[2].0);
const _: () = assert!(FIXED[2].0 + FIXED[2].1 + GUARD <= DATA_BASE);
const _: () = assert!(DATA_BASE % 0x1000 == 0 && DATA_LIMIT <= GRANTS_BASE);
const _: () = assert!(GRANTS_BASE % 0x1000 == 0 && GRANTS_LIMIT <= REGIONS_BASE);
const _: () = assert!(REGIONS_BASE % REGION_ALIGN == 0);

/// The guest-physical plan of one boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// One region per compartment, in view order.
    pub regions: Vec<Region>,
    /// One placement per grant, in manifest order.
    pub grants: Vec<GrantPlacement>,
    /// One call buffer per `calls` edge ([`Manifest::edges`] order).
    pub channels: Vec<ChannelPlacement>,
}

/// One compartment's region. Mapped in its view: `[base, base + image_span)` (per the
/// image's segments), `[heap_bottom, heap_top)` and `[stack_bottom, stack_top)`;
/// everything else in `[base, base + size)` stays unmapped, including the guard pages
/// `[heap_bottom - GUARD, heap_bottom)`, `[heap_top, stack_bottom)` and
/// `[stack_top, stack_top + GUARD)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Image base; a multiple of [`REGION_ALIGN`].
    pub base: u64,
    /// Bytes of the region; a multiple of [`REGION_ALIGN`].
    pub size: u64,
    /// Page-rounded bytes of the image from `base`.
    pub image_span: u64,
    /// Lowest heap address (the info page's `HEAP_BASE`).
    pub heap_bottom: u64,
    /// Heap end (exclusive); equal to `stack_bottom - GUARD`.
    pub heap_top: u64,
    /// Lowest stack address.
    pub stack_bottom: u64,
    /// Stack top (exclusive); equal to `base + size - GUARD`.
    pub stack_top: u64,
}

impl Region {
    /// First address after the region.
    pub const fn end(&self) -> u64 {
        self.base.saturating_add(self.size)
    }

    /// Where `addr` lies in the region's image, counted from `base`: for a relocatable
    /// image linked at 0 (every image the kernel accepts) this is the ELF virtual address
    /// its symbol table uses, so tools outside the hypervisor can name the function
    /// (`@@FAULT ... offset=`). `None` outside `base..base + image_span`.
    pub const fn image_offset(&self, addr: u64) -> Option<u64> {
        match addr.checked_sub(self.base) {
            Some(offset) if offset < self.image_span => Some(offset),
            _ => None,
        }
    }
}

impl From<Region> for guest::Region {
    /// The shape the kernel's loader used before the planner: the image may take every
    /// byte below the guard page under the heap.
    fn from(r: Region) -> Self {
        guest::Region {
            base: r.base,
            stack_bottom: r.stack_bottom,
            stack_top: r.stack_top,
            max_image_span: r.heap_bottom.saturating_sub(GUARD).saturating_sub(r.base),
        }
    }
}

/// Where one grant is mapped (the same address in each granted view).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantPlacement {
    /// Page-aligned guest-physical address.
    pub gpa: u64,
    /// Bytes.
    pub size: u64,
}

/// Why no plan exists. Every variant about one compartment or grant names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// `image_spans` does not have one entry per compartment.
    SpanCount { compartments: usize, spans: usize },
    /// More compartments than the EPTP list has views for.
    TooManyCompartments { count: usize },
    /// An image span that is zero or not a multiple of 4096.
    BadSpan { compartment: String, span: u64 },
    /// A stack size that is zero or not a multiple of 4096.
    BadStack { compartment: String, stack: u64 },
    /// A heap size that is zero or not a multiple of 4096.
    BadHeap { compartment: String, heap: u64 },
    /// The compartment's region would end above the identity map.
    OutOfSpace {
        compartment: String,
        span: u64,
        stack: u64,
        heap: u64,
    },
    /// A grant size that is zero or not a multiple of 4096.
    BadGrantSize { grant: String, size: u64 },
    /// The grant (with the grants before it) does not fit below [`GRANTS_LIMIT`].
    GrantsFull { grant: String, size: u64 },
    /// A call-buffer size (the callee's `call_buffer=`) that is zero, not a multiple of
    /// 4096, or larger than a channel entry can describe. `edge` is `CALLER->CALLEE`.
    BadCallBuffer { edge: String, size: u64 },
    /// The call buffer of `edge` does not fit below [`GRANTS_LIMIT`] after the grants
    /// and the buffers before it.
    ChannelsFull { edge: String, size: u64 },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SpanCount {
                compartments,
                spans,
            } => write!(
                f,
                "layout: {spans} image spans for {compartments} compartments"
            ),
            Self::TooManyCompartments { count } => write!(
                f,
                "layout: {count} compartments, more than {MAX_COMPARTMENTS}"
            ),
            Self::BadSpan { compartment, span } => write!(
                f,
                "compartment '{compartment}': image span {span:#x} is not a non-zero multiple of 4096"
            ),
            Self::BadStack { compartment, stack } => write!(
                f,
                "compartment '{compartment}': stack {stack:#x} is not a non-zero multiple of 4096"
            ),
            Self::BadHeap { compartment, heap } => write!(
                f,
                "compartment '{compartment}': heap {heap:#x} is not a non-zero multiple of 4096"
            ),
            Self::OutOfSpace {
                compartment,
                span,
                stack,
                heap,
            } => write!(
                f,
                "compartment '{compartment}': no room below {:#x} for its region (image {span:#x} bytes, heap {heap:#x} bytes, stack {stack:#x} bytes)",
                guest::IDENTITY_LIMIT
            ),
            Self::BadGrantSize { grant, size } => write!(
                f,
                "grant '{grant}': size {size:#x} is not a non-zero multiple of 4096"
            ),
            Self::GrantsFull { grant, size } => write!(
                f,
                "grant '{grant}': no room for {size:#x} bytes (grants and their guard pages share {:#x}..{GRANTS_LIMIT:#x})",
                GRANTS_BASE
            ),
            Self::BadCallBuffer { edge, size } => write!(
                f,
                "call buffer of {edge}: size {size:#x} is not a non-zero multiple of 4096 of at most {:#x}",
                tessera_abi::gate::channels::MAX_SIZE
            ),
            Self::ChannelsFull { edge, size } => write!(
                f,
                "call buffer of {edge}: no room for {size:#x} bytes (grants, call buffers and their guard pages share {:#x}..{GRANTS_LIMIT:#x})",
                GRANTS_BASE
            ),
        }
    }
}

impl core::error::Error for LayoutError {}

/// Plans guest-physical memory for `manifest`. `image_spans[i]` is the page-rounded span
/// of compartment `i`'s image (`image::ImagePlan::span`).
///
/// # Errors
/// The first compartment or grant that cannot be placed, or inconsistent input.
pub fn plan(manifest: &Manifest, image_spans: &[u64]) -> Result<Layout, LayoutError> {
    let count = manifest.compartments.len();
    if image_spans.len() != count {
        return Err(LayoutError::SpanCount {
            compartments: count,
            spans: image_spans.len(),
        });
    }
    if count > MAX_COMPARTMENTS {
        return Err(LayoutError::TooManyCompartments { count });
    }
    let mut grants = Vec::with_capacity(manifest.grants.len());
    let mut next = GRANTS_BASE;
    for grant in &manifest.grants {
        let size = grant.size;
        if !is_pages(size) {
            let grant = grant.name.clone();
            return Err(LayoutError::BadGrantSize { grant, size });
        }
        let end = next.checked_add(size).and_then(|e| e.checked_add(GUARD));
        match end {
            Some(end) if end <= GRANTS_LIMIT => {
                grants.push(GrantPlacement { gpa: next, size });
                next = end;
            }
            _ => {
                let grant = grant.name.clone();
                return Err(LayoutError::GrantsFull { grant, size });
            }
        }
    }
    let channels = channels::plan(manifest, next)?;
    let mut regions = Vec::with_capacity(count);
    let mut base = REGIONS_BASE;
    for (decl, &span) in manifest.compartments.iter().zip(image_spans) {
        let region = place(base, &decl.name, (span, decl.heap, decl.stack))?;
        base = region.end();
        regions.push(region);
    }
    Ok(Layout {
        regions,
        grants,
        channels,
    })
}

/// Compartment `name`'s region at `base`: `[image][guard][..][heap][guard][stack][guard]`
/// rounded up to whole 2 MiB pages.
fn place(
    base: u64,
    name: &str,
    (span, heap, stack): (u64, u64, u64),
) -> Result<Region, LayoutError> {
    let compartment = || String::from(name);
    if !is_pages(span) {
        return Err(LayoutError::BadSpan {
            compartment: compartment(),
            span,
        });
    }
    if !is_pages(stack) {
        return Err(LayoutError::BadStack {
            compartment: compartment(),
            stack,
        });
    }
    if !is_pages(heap) {
        return Err(LayoutError::BadHeap {
            compartment: compartment(),
            heap,
        });
    }
    let size = span
        .checked_add(heap)
        .and_then(|n| n.checked_add(stack))
        .and_then(|n| n.checked_add(3 * GUARD))
        .and_then(|n| n.checked_next_multiple_of(REGION_ALIGN));
    let end = size.and_then(|size| Some((size, base.checked_add(size)?)));
    let Some((size, end)) = end.filter(|(_, end)| *end <= guest::IDENTITY_LIMIT) else {
        return Err(LayoutError::OutOfSpace {
            compartment: compartment(),
            span,
            stack,
            heap,
        });
    };
    let stack_top = end - GUARD;
    let stack_bottom = stack_top - stack;
    let heap_top = stack_bottom - GUARD;
    Ok(Region {
        base,
        size,
        image_span: span,
        heap_bottom: heap_top - heap,
        heap_top,
        stack_bottom,
        stack_top,
    })
}

/// A non-zero multiple of 4096.
fn is_pages(n: u64) -> bool {
    n != 0 && n % 0x1000 == 0
}

/// Where one view's data entries of `sizes` bytes go in its data window: the directory
/// page at [`DATA_BASE`], a guard page, then each entry page-rounded and followed by a
/// guard page, in order. `Err(i)`: entry `i` does not fit below [`DATA_LIMIT`].
pub fn place_data(sizes: &[u64]) -> Result<Vec<u64>, usize> {
    let mut next = DATA_BASE + 0x1000 + GUARD;
    let mut placed = Vec::with_capacity(sizes.len());
    for (i, &size) in sizes.iter().enumerate() {
        let end = size
            .checked_next_multiple_of(0x1000)
            .and_then(|len| next.checked_add(len.max(0x1000)))
            .and_then(|end| end.checked_add(GUARD))
            .filter(|&end| end <= DATA_LIMIT)
            .ok_or(i)?;
        placed.push(next);
        next = end;
    }
    Ok(placed)
}
