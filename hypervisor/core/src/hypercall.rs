//! The decisions of the hypercalls that name things ([`tessera_abi::hypercall`]), as
//! their doc comments promise them: which error a call gets, in which order the checks
//! run. The kernel reads the guest's buffers (BAD_POINTER, TOO_LARGE come from there)
//! and hands the bytes here.

use tessera_abi::error;
use tessera_abi::hypercall::Hypercall;

use crate::manifest::{Access, Manifest};

/// Longest name LOOKUP, GRANT and REGISTER_EXPORT take (the longest export name, see
/// [`crate::manifest::MAX_EXPORT_NAME_LEN`]); a longer one is TOO_LARGE.
pub const MAX_NAME: u64 = crate::manifest::MAX_EXPORT_NAME_LEN as u64;

/// Which hypercall view `view` makes with number `number`, if it may make it at all:
/// UNKNOWN_HYPERCALL for a number the ABI does not define (whatever the manifest says:
/// an unknown number is not a permission question), NOT_PERMITTED for one its manifest
/// entry does not allow (the fixture-only hypercalls included: no manifest names them,
/// and the fixture answers them before asking).
pub fn admit(manifest: &Manifest, view: usize, number: u64) -> Result<Hypercall, i64> {
    let call = Hypercall::from_number(number).ok_or(error::UNKNOWN_HYPERCALL)?;
    if !manifest.allows(view, call) {
        return Err(error::NOT_PERMITTED);
    }
    Ok(call)
}

/// Bytes that are not UTF-8 name nothing: the manifest's names are `a-z 0-9 _ -`.
fn text(bytes: &[u8]) -> Option<&str> {
    core::str::from_utf8(bytes).ok()
}

/// LOOKUP of export `export` of compartment `target` by view `caller`:
/// `(view << 32) | index`, NO_SUCH_EXPORT for no such compartment or export, or
/// NOT_PERMITTED when the caller may not call that compartment.
pub fn lookup(
    manifest: &Manifest,
    caller: usize,
    target: &[u8],
    export: &[u8],
) -> Result<u64, i64> {
    let view = text(target)
        .and_then(|t| manifest.index_of(t))
        .ok_or(error::NO_SUCH_EXPORT)?;
    if !manifest.may_call(caller, view) {
        return Err(error::NOT_PERMITTED);
    }
    let index = text(export)
        .and_then(|e| manifest.export_index(view, e))
        .ok_or(error::NO_SUCH_EXPORT)?;
    Ok(((view as u64) << 32) | index as u64)
}

/// GRANT `name` for view `view`: the grant's index and the view's access, or
/// NO_SUCH_GRANT.
pub fn grant(manifest: &Manifest, view: usize, name: &[u8]) -> Result<(usize, Access), i64> {
    text(name)
        .and_then(|n| manifest.grant_for(view, n))
        .ok_or(error::NO_SUCH_GRANT)
}

/// REGISTER_EXPORT of `name` by view `view`: the export's index, or NO_SUCH_EXPORT if its
/// manifest entry does not declare it. (BAD_STATE outside its own `main` and BAD_POINTER
/// for an address it cannot execute are the kernel's to check: they need its state.)
pub fn register_export(manifest: &Manifest, view: usize, name: &[u8]) -> Result<usize, i64> {
    text(name)
        .and_then(|n| manifest.export_index(view, n))
        .ok_or(error::NO_SUCH_EXPORT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_abi::hypercall as nr;

    fn manifest() -> Manifest {
        Manifest::parse(
            "tessera-manifest 1\n\
             compartment vault exports=sign\n\
             compartment client calls=vault hypercalls=console,lookup,grant\n\
             compartment other\n\
             grant msg size=4096 client=rw\n",
        )
        .expect("valid")
    }

    #[test]
    fn unknown_numbers_are_unknown_before_they_are_forbidden() {
        let m = manifest();
        // The client may not use EXIT_COUNT or REPORT, and no manifest names the
        // fixture-only numbers; COUNT (11 today) and up name nothing at all.
        for (number, client, vault) in [
            (nr::EXIT, Ok(()), Ok(())),
            (nr::CONSOLE_WRITE, Ok(()), Ok(())),
            (nr::EXIT_COUNT, Err(error::NOT_PERMITTED), Ok(())),
            (nr::REPORT, Err(error::NOT_PERMITTED), Ok(())),
            (nr::GATE_VIOLATION, Ok(()), Ok(())),
            (
                nr::CONFORMANCE_REPORT,
                Err(error::NOT_PERMITTED),
                Err(error::NOT_PERMITTED),
            ),
            (
                nr::SWITCH_VIEW,
                Err(error::NOT_PERMITTED),
                Err(error::NOT_PERMITTED),
            ),
            (
                nr::COUNT as u64,
                Err(error::UNKNOWN_HYPERCALL),
                Err(error::UNKNOWN_HYPERCALL),
            ),
            (
                99,
                Err(error::UNKNOWN_HYPERCALL),
                Err(error::UNKNOWN_HYPERCALL),
            ),
            (
                u64::MAX,
                Err(error::UNKNOWN_HYPERCALL),
                Err(error::UNKNOWN_HYPERCALL),
            ),
        ] {
            assert_eq!(admit(&m, 1, number).map(|_| ()), client, "client, {number}");
            assert_eq!(admit(&m, 0, number).map(|_| ()), vault, "vault, {number}");
            // What is admitted is the hypercall with that number.
            if let Ok(call) = admit(&m, 0, number) {
                assert_eq!(call.number(), number);
            }
        }
        assert_eq!(nr::ALL.len(), nr::COUNT);
    }

    #[test]
    fn lookups_answer_as_documented() {
        let m = manifest();
        assert_eq!(lookup(&m, 1, b"vault", b"sign"), Ok(0));
        assert_eq!(
            lookup(&m, 1, b"vault", b"verify"),
            Err(error::NO_SUCH_EXPORT)
        );
        assert_eq!(lookup(&m, 1, b"vaulx", b"sign"), Err(error::NO_SUCH_EXPORT));
        assert_eq!(lookup(&m, 1, b"\xff", b"sign"), Err(error::NO_SUCH_EXPORT));
        assert_eq!(
            lookup(&m, 1, b"vault", b"\xffsign"),
            Err(error::NO_SUCH_EXPORT)
        );
        assert_eq!(lookup(&m, 2, b"vault", b"sign"), Err(error::NOT_PERMITTED));
        assert_eq!(lookup(&m, 1, b"other", b"x"), Err(error::NOT_PERMITTED));
        assert_eq!(lookup(&m, 0, b"vault", b"sign"), Err(error::NOT_PERMITTED));
        assert_eq!(MAX_NAME, 64);
    }

    #[test]
    fn grants_and_registrations_answer_as_documented() {
        let m = manifest();
        assert_eq!(grant(&m, 1, b"msg"), Ok((0, Access::ReadWrite)));
        assert_eq!(grant(&m, 0, b"msg"), Err(error::NO_SUCH_GRANT));
        assert_eq!(grant(&m, 1, b"\xc3"), Err(error::NO_SUCH_GRANT));
        assert_eq!(register_export(&m, 0, b"sign"), Ok(0));
        assert_eq!(
            register_export(&m, 0, b"verify"),
            Err(error::NO_SUCH_EXPORT)
        );
        assert_eq!(register_export(&m, 1, b"sign"), Err(error::NO_SUCH_EXPORT));
        assert_eq!(register_export(&m, 0, b"\xff"), Err(error::NO_SUCH_EXPORT));
    }
}
