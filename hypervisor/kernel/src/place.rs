//! Putting a checked image into its view: load it (`compartment::load`), then map its
//! segments and its stack into the view's second-level table. A failure rejects the image
//! alone: its mappings are removed, its frames given back, and the view stays as a
//! rejected compartment's (gate pages only, failed flag set).

use crate::compartment::{self, Checked, LoadError};
use crate::gate_pages::write_u64;
use crate::system::{Status, View};
use crate::tables::FrameTables;
use alloc::string::String;
use core::ops::Range;
use tessera_abi::gate::info;
use tessera_core::frames::FrameAllocator;
use tessera_core::image::{ImageError, ImageProblem, MemoryPart};
use tessera_core::layout::Region;
use tessera_core::outcome::Outcome;
use tessera_core::paging::{EntryFormat, PageTable, PagingError, Perms};

/// Reports a rejected image (`@@REJECT`, DESIGN §9); the boot goes on without it.
pub fn reject(error: &ImageError) {
    log::error!("rejected: {error}");
    crate::sprintln!("{}", error.reject_line());
}

/// Loads every checked image into its view (`checked[i]` and `regions[i]` belong to
/// `views[i]`). A refused image is reported and its compartment marked rejected (its
/// gate refuses calls: info page failed flag). Returns the conformance fixture's image
/// range in its view, which may hold `VMFUNC`, when the boot runs the fixture.
///
/// # Errors
/// Only a bug in L1 (see [`LoadError::Bug`]).
pub fn load_all<F: EntryFormat>(
    views: &mut [View<F>],
    checked: &[Option<Checked<'_>>],
    regions: &[Region],
    frames: &mut FrameAllocator,
    conformance: bool,
) -> Result<Option<Range<u64>>, String> {
    let mut exempt = None;
    for ((view, image), region) in views.iter_mut().zip(checked).zip(regions) {
        let Some(image) = image else {
            continue;
        };
        let fixture =
            conformance && crate::conformance::FIXTURE_COMPARTMENTS.contains(&view.name.as_str());
        let mut tables = FrameTables { frames };
        let result = load_and_map(
            &view.name,
            image,
            region,
            &mut view.table,
            &mut tables,
            fixture,
        );
        match result {
            Ok(entry) => view.entry = entry,
            Err(LoadError::Reject(problem)) => {
                view.status = Status::Rejected;
                view.outcome = Some(Outcome::Rejected(problem.word()));
                write_u64(view.info_hpa, info::FAILED, 1);
                reject(&ImageError {
                    module: view.name.clone(),
                    problem,
                });
            }
            Err(LoadError::Bug(e)) => return Err(e),
        }
        if fixture {
            exempt = Some(region.base..region.base + image.plan.span);
        }
    }
    Ok(exempt)
}

/// Loads `image` for `region` and maps it and its stack into `table`; returns the entry
/// point (guest-physical).
pub fn load_and_map<F: EntryFormat>(
    name: &str,
    image: &Checked<'_>,
    region: &Region,
    table: &mut PageTable<F>,
    tables: &mut FrameTables<'_>,
    fixture: bool,
) -> Result<u64, LoadError> {
    let stack_len = region.stack_top - region.stack_bottom;
    let loaded = compartment::load(name, image, region.base, stack_len, tables.frames, fixture)?;
    let mut mapped = Ok(());
    for seg in &image.plan.segments {
        mapped = table.map_range(
            tables,
            region.base + seg.offset,
            loaded.hpa + seg.offset,
            seg.len,
            seg.perms,
        );
        if mapped.is_err() {
            break;
        }
    }
    if mapped.is_ok() {
        mapped = table.map_range(
            tables,
            region.stack_bottom,
            loaded.stack_hpa,
            stack_len,
            Perms::RW,
        );
    }
    let Err(error) = mapped else {
        return Ok(loaded.entry);
    };
    // Nothing else lives in the region, which is 2 MiB-aligned: removing its mappings
    // splits no large page, so it needs no frame and cannot fail.
    let _ = table.unmap(tables, region.base, region.size);
    tables
        .frames
        .free(loaded.hpa, (image.plan.span / 0x1000) as usize);
    tables
        .frames
        .free(loaded.stack_hpa, (stack_len / 0x1000) as usize);
    Err(match error {
        PagingError::OutOfTables => LoadError::Reject(ImageProblem::OutOfMemory {
            part: MemoryPart::Mappings,
            needed: 0x1000,
        }),
        other => LoadError::Bug(alloc::format!("mapping '{name}' into its view: {other}")),
    })
}
