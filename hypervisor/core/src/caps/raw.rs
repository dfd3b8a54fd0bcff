//! The raw capability dump: CPUID leaves and MSR values exactly as the kernel read them.
//!
//! The kernel prints one line per value on the serial console:
//!
//! ```text
//! @@RAW cpuid leaf=0x00000001 subleaf=0x00000000 eax=0x000306a9 ebx=0x00010800 ecx=0x80202001 edx=0x178bfbff
//! @@RAW msr index=0x00000480 value=0x00d810000000002b
//! @@RAW msr index=0x00000491 fault=gp
//! ```
//!
//! Those lines are recorded from real emulator boots into fixtures, so the same text is
//! parsed here (every line that is not `@@RAW` is ignored) and decoded on the host.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The marker that starts every raw capability line.
pub const RAW_PREFIX: &str = "@@RAW";

/// One CPUID leaf/subleaf and the four registers it returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuidRecord {
    pub leaf: u32,
    pub subleaf: u32,
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// Why an MSR has no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsrFault {
    /// RDMSR raised #GP (the MSR does not exist on this CPU).
    Gp,
}

/// One MSR read: its value, or the fault RDMSR raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsrRecord {
    pub index: u32,
    pub value: Result<u64, MsrFault>,
}

/// Every CPUID leaf and MSR the kernel probed, in the order it probed them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawDump {
    pub cpuid: Vec<CpuidRecord>,
    pub msrs: Vec<MsrRecord>,
}

/// What was wrong with a field of a `@@RAW` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpProblem {
    /// The record kind after `@@RAW` is neither `cpuid` nor `msr`.
    UnknownKind,
    /// A field this record kind needs is absent.
    Missing,
    /// The field appears twice.
    Duplicate,
    /// The field is not one this record kind has.
    Unknown,
    /// A token is not `key=value`.
    NotKeyValue,
    /// The value is not `0x` followed by hex digits that fit the field's width.
    BadHex,
    /// `fault=` names a fault other than `gp`.
    UnknownFault,
    /// An MSR line has both `value=` and `fault=`, or neither.
    ValueAndFault,
}

/// A `@@RAW` line that could not be parsed: the 1-based line number of the transcript,
/// the field at fault (`kind` for the record kind), and what was wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpParseError {
    pub line: usize,
    pub field: String,
    pub problem: DumpProblem,
}

impl fmt::Display for DumpParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.problem {
            DumpProblem::UnknownKind => "unknown record kind (expected cpuid or msr)",
            DumpProblem::Missing => "missing",
            DumpProblem::Duplicate => "given twice",
            DumpProblem::Unknown => "not a field of this record",
            DumpProblem::NotKeyValue => "not of the form key=value",
            DumpProblem::BadHex => "not 0x-prefixed hex that fits the field",
            DumpProblem::UnknownFault => "unknown fault (expected gp)",
            DumpProblem::ValueAndFault => "an msr line needs exactly one of value= and fault=",
        };
        write!(
            f,
            "@@RAW line {}: field `{}`: {}",
            self.line, self.field, what
        )
    }
}

impl RawDump {
    /// Parses every `@@RAW` line of a serial transcript; all other lines are ignored.
    pub fn parse(text: &str) -> Result<RawDump, DumpParseError> {
        let mut dump = RawDump::default();
        for (i, line) in text.lines().enumerate() {
            let line_no = i.saturating_add(1);
            let mut tokens = line.split_ascii_whitespace();
            if tokens.next() != Some(RAW_PREFIX) {
                continue;
            }
            let kind = tokens.next().unwrap_or("");
            let fields = Fields::collect(line_no, tokens)?;
            match kind {
                "cpuid" => dump.cpuid.push(parse_cpuid(&fields)?),
                "msr" => dump.msrs.push(parse_msr(&fields)?),
                _ => return Err(fields.error("kind", DumpProblem::UnknownKind)),
            }
        }
        Ok(dump)
    }

    /// The dump as `@@RAW` lines (no line terminators), in the format [`RawDump::parse`] reads.
    pub fn to_lines(&self) -> Vec<String> {
        let cpuid = self.cpuid.iter().map(|r| r.to_line());
        let msrs = self.msrs.iter().map(|r| r.to_line());
        cpuid.chain(msrs).collect()
    }

    /// The first record for this leaf and subleaf.
    pub fn cpuid(&self, leaf: u32, subleaf: u32) -> Option<&CpuidRecord> {
        self.cpuid
            .iter()
            .find(|r| r.leaf == leaf && r.subleaf == subleaf)
    }

    /// The first record for this MSR (its value or its fault).
    pub fn msr(&self, index: u32) -> Option<&MsrRecord> {
        self.msrs.iter().find(|r| r.index == index)
    }

    /// The value of this MSR, or `None` if it faulted or was not read.
    pub fn msr_value(&self, index: u32) -> Option<u64> {
        self.msr(index).and_then(|r| r.value.ok())
    }
}

impl CpuidRecord {
    /// This record as one `@@RAW cpuid` line.
    pub fn to_line(&self) -> String {
        format!(
            "{RAW_PREFIX} cpuid leaf={:#010x} subleaf={:#010x} eax={:#010x} ebx={:#010x} ecx={:#010x} edx={:#010x}",
            self.leaf, self.subleaf, self.eax, self.ebx, self.ecx, self.edx
        )
    }
}

impl MsrRecord {
    /// This record as one `@@RAW msr` line.
    pub fn to_line(&self) -> String {
        match self.value {
            Ok(v) => format!(
                "{RAW_PREFIX} msr index={:#010x} value={v:#018x}",
                self.index
            ),
            Err(MsrFault::Gp) => format!("{RAW_PREFIX} msr index={:#010x} fault=gp", self.index),
        }
    }
}

/// The `key=value` tokens of one line, checked for shape and duplicates.
struct Fields<'a> {
    line: usize,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn collect(line: usize, tokens: impl Iterator<Item = &'a str>) -> Result<Self, DumpParseError> {
        let mut fields = Fields {
            line,
            pairs: Vec::new(),
        };
        for token in tokens {
            let Some((key, value)) = token.split_once('=') else {
                return Err(fields.error(token, DumpProblem::NotKeyValue));
            };
            if fields.pairs.iter().any(|(k, _)| *k == key) {
                return Err(fields.error(key, DumpProblem::Duplicate));
            }
            fields.pairs.push((key, value));
        }
        Ok(fields)
    }

    fn error(&self, field: &str, problem: DumpProblem) -> DumpParseError {
        DumpParseError {
            line: self.line,
            field: String::from(field),
            problem,
        }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// Rejects any field not in `allowed`.
    fn only(&self, allowed: &[&str]) -> Result<(), DumpParseError> {
        match self.pairs.iter().find(|(k, _)| !allowed.contains(k)) {
            Some((k, _)) => Err(self.error(k, DumpProblem::Unknown)),
            None => Ok(()),
        }
    }

    fn hex(&self, key: &str, bits: u32) -> Result<u64, DumpParseError> {
        let raw = self
            .get(key)
            .ok_or_else(|| self.error(key, DumpProblem::Missing))?;
        parse_hex(raw, bits).ok_or_else(|| self.error(key, DumpProblem::BadHex))
    }

    fn hex32(&self, key: &str) -> Result<u32, DumpParseError> {
        let v = self.hex(key, 32)?;
        u32::try_from(v).map_err(|_| self.error(key, DumpProblem::BadHex))
    }
}

/// `0x` followed by 1..=16 hex digits whose value fits in `bits` bits.
fn parse_hex(raw: &str, bits: u32) -> Option<u64> {
    let digits = raw.strip_prefix("0x")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let v = u64::from_str_radix(digits, 16).ok()?;
    if bits < 64 && v >> bits != 0 {
        return None;
    }
    Some(v)
}

fn parse_cpuid(f: &Fields<'_>) -> Result<CpuidRecord, DumpParseError> {
    f.only(&["leaf", "subleaf", "eax", "ebx", "ecx", "edx"])?;
    Ok(CpuidRecord {
        leaf: f.hex32("leaf")?,
        subleaf: f.hex32("subleaf")?,
        eax: f.hex32("eax")?,
        ebx: f.hex32("ebx")?,
        ecx: f.hex32("ecx")?,
        edx: f.hex32("edx")?,
    })
}

fn parse_msr(f: &Fields<'_>) -> Result<MsrRecord, DumpParseError> {
    f.only(&["index", "value", "fault"])?;
    let index = f.hex32("index")?;
    let value = match (f.get("value"), f.get("fault")) {
        (Some(_), None) => Ok(f.hex("value", 64)?),
        (None, Some("gp")) => Err(MsrFault::Gp),
        (None, Some(_)) => return Err(f.error("fault", DumpProblem::UnknownFault)),
        _ => return Err(f.error("value", DumpProblem::ValueAndFault)),
    };
    Ok(MsrRecord { index, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "SeaBIOS banner\r\n\
        @@RAW cpuid leaf=0x00000001 subleaf=0x00000000 eax=0x000306a9 ebx=0x00010800 ecx=0x80202001 edx=0x178bfbff\r\n\
        free-form log @@RAW msr index=0x1 value=0x2\n\
        @@RAW msr index=0x00000480 value=0x00d810000000002b\n\
        @@RAW msr index=0x00000491 fault=gp\n\
        @@RESULT pass\n";

    #[test]
    fn parses_sample_and_ignores_other_lines() {
        let d = RawDump::parse(SAMPLE).expect("sample parses");
        assert_eq!(d.cpuid.len(), 1);
        assert_eq!(d.msrs.len(), 2);
        let leaf1 = d.cpuid(1, 0).expect("leaf 1");
        assert_eq!(leaf1.ecx, 0x8020_2001);
        assert_eq!(d.msr_value(0x480), Some(0x00d8_1000_0000_002b));
        assert_eq!(d.msr(0x491).map(|r| r.value), Some(Err(MsrFault::Gp)));
        assert_eq!(d.msr_value(0x491), None);
        assert!(d.cpuid(1, 1).is_none());
        assert!(
            d.msr(0x1).is_none(),
            "@@RAW not at line start is free-form text"
        );
    }

    #[test]
    fn to_lines_is_exact_and_round_trips() {
        let d = RawDump::parse(SAMPLE).expect("sample parses");
        let lines = d.to_lines();
        assert_eq!(
            lines,
            [
                "@@RAW cpuid leaf=0x00000001 subleaf=0x00000000 eax=0x000306a9 ebx=0x00010800 ecx=0x80202001 edx=0x178bfbff",
                "@@RAW msr index=0x00000480 value=0x00d810000000002b",
                "@@RAW msr index=0x00000491 fault=gp",
            ]
        );
        assert_eq!(RawDump::parse(&lines.join("\n")), Ok(d));
    }

    fn err(text: &str) -> DumpParseError {
        RawDump::parse(text).expect_err("must be rejected")
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = err("x\n@@RAW cpuid leaf=0x1 subleaf=0x0 eax=0x1 ebx=0x2 ecx=0x3");
        assert_eq!(
            (e.line, e.field.as_str(), e.problem),
            (2, "edx", DumpProblem::Missing)
        );
        let e = err("@@RAW cpuid leaf=0x1 subleaf=0x0 eax=0x100000000 ebx=0 ecx=0 edx=0");
        assert_eq!((e.field.as_str(), e.problem), ("eax", DumpProblem::BadHex));
        let e = err("@@RAW cpuid leaf=1 subleaf=0x0 eax=0x1 ebx=0x2 ecx=0x3 edx=0x4");
        assert_eq!((e.field.as_str(), e.problem), ("leaf", DumpProblem::BadHex));
        let e = err("@@RAW msr index=0x480 value=0x+1");
        assert_eq!(
            (e.field.as_str(), e.problem),
            ("value", DumpProblem::BadHex)
        );
        let e = err("@@RAW msr index=0x480 fault=ud");
        assert_eq!(
            (e.field.as_str(), e.problem),
            ("fault", DumpProblem::UnknownFault)
        );
        let e = err("@@RAW msr index=0x480 value=0x1 fault=gp");
        assert_eq!(e.problem, DumpProblem::ValueAndFault);
        let e = err("@@RAW msr index=0x480");
        assert_eq!(e.problem, DumpProblem::ValueAndFault);
        let e = err("@@RAW msr index=0x480 index=0x481 value=0x1");
        assert_eq!(
            (e.field.as_str(), e.problem),
            ("index", DumpProblem::Duplicate)
        );
        let e = err("@@RAW msr index=0x480 colour=0x1 value=0x1");
        assert_eq!(
            (e.field.as_str(), e.problem),
            ("colour", DumpProblem::Unknown)
        );
        let e = err("@@RAW msr index=0x480 value");
        assert_eq!(e.problem, DumpProblem::NotKeyValue);
        let e = err("\n\n@@RAW tsc value=0x1");
        assert_eq!(
            (e.line, e.field.as_str(), e.problem),
            (3, "kind", DumpProblem::UnknownKind)
        );
        let e = err("@@RAW");
        assert_eq!(e.problem, DumpProblem::UnknownKind);
        assert!(e.to_string().contains("line 1"));
    }

    #[test]
    fn hex_widths() {
        assert_eq!(parse_hex("0xffffffffffffffff", 64), Some(u64::MAX));
        assert_eq!(parse_hex("0x1ffffffffffffffff", 64), None);
        assert_eq!(parse_hex("0xffffffff", 32), Some(0xffff_ffff));
        assert_eq!(parse_hex("0x", 32), None);
        assert_eq!(parse_hex("0X1", 32), None);
    }

    use alloc::string::ToString;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_on_garbage(text in "(@@RAW (cpuid|msr)?( [a-z]{0,6}=?(0x)?[0-9a-fA-F+]{0,18})*\n|[ -~]{0,40}\n){0,8}") {
            let _ = RawDump::parse(&text);
        }

        #[test]
        fn round_trips(
            cpuid in proptest::collection::vec(any::<[u32; 6]>(), 0..8),
            msrs in proptest::collection::vec((any::<u32>(), proptest::option::of(any::<u64>())), 0..8),
        ) {
            let dump = RawDump {
                cpuid: cpuid.iter().map(|r| CpuidRecord {
                    leaf: r[0], subleaf: r[1], eax: r[2], ebx: r[3], ecx: r[4], edx: r[5],
                }).collect(),
                msrs: msrs.iter().map(|&(index, v)| MsrRecord {
                    index, value: v.ok_or(MsrFault::Gp),
                }).collect(),
            };
            prop_assert_eq!(RawDump::parse(&dump.to_lines().join("\n")), Ok(dump));
        }
    }
}
