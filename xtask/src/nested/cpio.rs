//! A writer for uncompressed cpio archives in the `newc` format, the format Linux unpacks
//! as its initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
//!
//! Each entry is a 110-byte ASCII header (`070701` and 13 eight-digit hex fields), the
//! NUL-terminated name padded to 4 bytes, then the data padded to 4 bytes; the archive ends
//! with the entry `TRAILER!!!`. The kernel creates no parent directories, so
//! [`Archive`] adds each missing parent before the entry that needs it. Uncompressed:
//! GRUB reads it slower than a gzip, but gunzip in Bochs costs more than the reading.

use std::collections::BTreeSet;

/// `S_IFDIR`, `S_IFREG`, `S_IFLNK` of the mode field.
const DIR: u32 = 0o040000;
const FILE: u32 = 0o100000;
const SYMLINK: u32 = 0o120000;

/// An archive being written, in memory.
#[derive(Debug, Default)]
pub struct Archive {
    bytes: Vec<u8>,
    dirs: BTreeSet<String>,
    next_ino: u32,
}

impl Archive {
    pub fn new() -> Archive {
        Archive::default()
    }

    /// A directory (and its missing parents), mode 0755.
    pub fn dir(&mut self, path: &str) {
        let path = path.trim_matches('/');
        if path.is_empty() || self.dirs.contains(path) {
            return;
        }
        self.parents(path);
        self.entry(path, DIR | 0o755, b"");
        self.dirs.insert(path.to_owned());
    }

    /// A regular file with permission bits `perm` (e.g. 0o755).
    pub fn file(&mut self, path: &str, perm: u32, data: &[u8]) {
        let path = path.trim_matches('/');
        self.parents(path);
        self.entry(path, FILE | (perm & 0o7777), data);
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) {
        let path = path.trim_matches('/');
        self.parents(path);
        self.entry(path, SYMLINK | 0o777, target.as_bytes());
    }

    /// The archive with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, b"");
        self.bytes
    }

    fn parents(&mut self, path: &str) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.next_ino += 1;
        let fields = [
            self.next_ino,
            mode,
            0, // uid
            0, // gid
            if mode & DIR != 0 { 2 } else { 1 },
            0, // mtime: fixed, so equal inputs give equal archives
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0, // check
        ];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes
                .extend_from_slice(format!("{field:08X}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while self.bytes.len() % 4 != 0 {
            self.bytes.push(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, mode, data) of every entry, read back by the format's rules.
    fn entries(bytes: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        let field = |at: usize, i: usize| {
            let text = std::str::from_utf8(&bytes[at + 6 + 8 * i..at + 14 + 8 * i]).unwrap();
            u32::from_str_radix(text, 16).unwrap() as usize
        };
        loop {
            assert_eq!(&bytes[at..at + 6], b"070701", "magic at {at}");
            assert_eq!(at % 4, 0);
            let (mode, size, namesize) = (field(at, 1), field(at, 6), field(at, 11));
            let name = std::str::from_utf8(&bytes[at + 110..at + 110 + namesize - 1]).unwrap();
            assert_eq!(bytes[at + 110 + namesize - 1], 0);
            let data_at = (at + 110 + namesize).next_multiple_of(4);
            let data = bytes[data_at..data_at + size].to_vec();
            at = (data_at + size).next_multiple_of(4);
            if name == "TRAILER!!!" {
                assert_eq!(at, bytes.len());
                return out;
            }
            out.push((name.to_owned(), mode as u32, data));
        }
    }

    #[test]
    fn parents_come_first_and_everything_is_aligned() {
        let mut a = Archive::new();
        a.file("/usr/bin/qemu", 0o755, b"ELF!!");
        a.symlink("bin/sh", "busybox");
        a.dir("usr/bin");
        a.file("init", 0o755, b"#!/bin/sh\n");
        let got = entries(&a.finish());
        let names: Vec<&str> = got.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["usr", "usr/bin", "usr/bin/qemu", "bin", "bin/sh", "init"]
        );
        assert_eq!(got[0].1, 0o040755);
        assert_eq!(got[2], ("usr/bin/qemu".into(), 0o100755, b"ELF!!".to_vec()));
        assert_eq!(got[4], ("bin/sh".into(), 0o120777, b"busybox".to_vec()));
    }

    #[test]
    fn equal_inputs_give_equal_archives() {
        let make = || {
            let mut a = Archive::new();
            a.file("a/b", 0o644, b"x");
            a.finish()
        };
        assert_eq!(make(), make());
        let empty = Archive::new().finish();
        assert!(entries(&empty).is_empty());
    }
}
