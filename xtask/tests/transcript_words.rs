//! docs/transcript.md lists every `@@` word the code emits (issue 14: "the docs list
//! every `@@` word").
//!
//! The words are read from the sources: every `@@WORD` inside a string literal of a `.rs`
//! file of the hypervisor, the SDK, the compartments, the examples and xtask (comments
//! are skipped: they name placeholders like `@@WORD`), plus the words L1 builds at run
//! time from `tessera_abi::hypercall::REPORT_WORDS` (`@@{word}`). A word is documented
//! when docs/transcript.md holds `@@WORD` followed by something that cannot continue a
//! word. (This file's own examples are left out.)

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The trees whose string literals are searched.
const SOURCES: &[&str] = &["hypervisor", "sdk", "compartments", "examples", "xtask"];

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
}

/// The `@@WORD`s in `text` (`WORD` starts with a capital letter).
fn words_in(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("@@") {
        let start = i + at + 2;
        let mut end = start;
        while end < bytes.len() && is_word_byte(bytes[end]) {
            end += 1;
        }
        if end > start && bytes[start].is_ascii_uppercase() {
            words.push(text[start..end].to_owned());
        }
        i = start;
    }
    words
}

/// The contents of the string literals of Rust source `src`: `"..."`, `b"..."`,
/// `r"..."`, `r#"..."#` (escapes left as written), skipping comments and char literals.
fn string_literals(src: &str) -> Vec<&str> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = src[i..].find('\n').map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = src[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            }
            // A char literal ('"', '\'', '\u{..}'); otherwise a lifetime.
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                i = src[i + 2..].find('\'').map_or(b.len(), |n| i + 2 + n + 1);
            }
            b'\'' if b.get(i + 2) == Some(&b'\'') => i += 3,
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#')) && !ident_before(b, i) => {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                let open = i + 1 + hashes;
                if b.get(open) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let end = src[open + 1..]
                    .find(&close)
                    .map_or(b.len(), |n| open + 1 + n);
                out.push(&src[open + 1..end]);
                i = end + close.len();
            }
            b'"' => {
                let mut end = i + 1;
                while end < b.len() && b[end] != b'"' {
                    end += if b[end] == b'\\' { 2 } else { 1 };
                }
                out.push(&src[i + 1..end.min(b.len())]);
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether the byte before `i` continues an identifier (so `r` at `i` is not a prefix).
fn ident_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() && name != "target" && !name.to_string_lossy().starts_with('.') {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every word the code emits, with a file that emits it.
fn emitted() -> BTreeMap<String, String> {
    let root = xtask::paths::workspace_root();
    let mut files = Vec::new();
    for dir in SOURCES {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 100, "found only {} .rs files", files.len());
    let mut words = BTreeMap::new();
    // This file's own examples of what the search finds are no words of the transcript.
    let this = root.join("xtask/tests/transcript_words.rs");
    for file in files.into_iter().filter(|f| *f != this) {
        let src = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for literal in string_literals(&src) {
            for word in words_in(literal) {
                words.entry(word).or_insert_with(|| shown.clone());
            }
        }
    }
    for word in tessera_abi::hypercall::REPORT_WORDS {
        words
            .entry((*word).to_owned())
            .or_insert_with(|| "tessera_abi::hypercall::REPORT_WORDS".to_owned());
    }
    words
}

#[test]
fn docs_transcript_lists_every_word_the_code_emits() {
    let doc_path = xtask::paths::workspace_root().join("docs/transcript.md");
    let doc = fs::read_to_string(&doc_path).expect("docs/transcript.md");
    let documented: BTreeSet<String> = words_in(&doc).into_iter().collect();
    let words = emitted();
    for expected in [
        "RESULT",
        "FAULT",
        "APP",
        "CALL",
        "BENCH",
        "ROUNDTRIPS",
        "STATS",
    ] {
        assert!(
            words.contains_key(expected),
            "the search missed @@{expected}"
        );
    }
    let missing: Vec<String> = words
        .iter()
        .filter(|(word, _)| !documented.contains(*word))
        .map(|(word, file)| format!("@@{word} (in {file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/transcript.md does not document: {}",
        missing.join(", ")
    );
}

#[test]
fn the_search_reads_literals_only() {
    let src = r###"
        // "@@COMMENT" in a comment
        /* "@@BLOCK" */ let q = '"'; let e = '\''; fn f<'a>(x: &'a str) {}
        let s = "say \"@@ONE x=1\" then @@TWO_2";
        let r = r#"@@RAW_ONE "quoted" @@lower"#;
        let b = b"@@BYTES";
        let f = format!("@@{word} @@ x");
        let var = "@@THREE"; // for"@@NOT"
    "###;
    let words: Vec<String> = string_literals(src)
        .into_iter()
        .flat_map(words_in)
        .collect();
    assert_eq!(
        words,
        ["ONE", "TWO_2", "RAW_ONE", "BYTES", "THREE"],
        "{:?}",
        string_literals(src)
    );
    assert_eq!(
        words_in("`@@VMFUNC_RULES` and `@@VMFUNC case=`"),
        ["VMFUNC_RULES", "VMFUNC"]
    );
}
