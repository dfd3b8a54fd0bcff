//! A JSON checker for `@@BENCH` reports (RFC 8259 grammar): one object, nested at most
//! [`MAX_DEPTH`] deep, whose member names are plain (no escapes) and never an identity
//! key, at any depth. Iterative, so a hostile report costs L1 time linear in its length
//! and no stack.

use super::ReportError;

/// Deepest nesting of objects and arrays.
pub const MAX_DEPTH: usize = 8;

type Result<T> = core::result::Result<T, ReportError>;

fn malformed(why: &'static str) -> ReportError {
    ReportError::Malformed(why)
}

/// The top-level member names of the object `text` (whitespace allowed around it), in
/// order, or why it is refused.
pub fn check_object<'a>(
    text: &'a str,
    is_identity: impl Fn(&str) -> bool,
    names: &mut alloc::vec::Vec<&'a str>,
) -> Result<()> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    p.ws();
    if p.peek() != Some(b'{') {
        return Err(malformed("BENCH carries one JSON object"));
    }
    // Containers still open: true = object. After a value inside one comes `,` or its
    // closing bracket.
    let mut open = [false; MAX_DEPTH];
    let mut depth = 0usize;
    loop {
        // Here a value is expected.
        p.ws();
        match p.peek().ok_or(malformed("JSON ends early"))? {
            c @ (b'{' | b'[') => {
                if depth == MAX_DEPTH {
                    return Err(malformed("JSON nested too deep"));
                }
                p.at += 1;
                open[depth] = c == b'{';
                depth += 1;
                p.ws();
                let close = if c == b'{' { b'}' } else { b']' };
                if p.peek() == Some(close) {
                    p.at += 1;
                    depth -= 1;
                } else {
                    if c == b'{' {
                        p.member(depth, &is_identity, names)?;
                    }
                    continue;
                }
            }
            b'"' => {
                p.string()?;
            }
            b't' => p.literal("true")?,
            b'f' => p.literal("false")?,
            b'n' => p.literal("null")?,
            _ => p.number()?,
        }
        // After a value: `,` and the next member or element, or close containers.
        loop {
            if depth == 0 {
                p.ws();
                return if p.at == p.s.len() {
                    Ok(())
                } else {
                    Err(malformed("text after the JSON object"))
                };
            }
            p.ws();
            let object = open[depth - 1];
            match p.peek() {
                Some(b',') => {
                    p.at += 1;
                    if object {
                        p.ws();
                        p.member(depth, &is_identity, names)?;
                    }
                    break;
                }
                Some(b'}') if object => {
                    p.at += 1;
                    depth -= 1;
                }
                Some(b']') if !object => {
                    p.at += 1;
                    depth -= 1;
                }
                _ => return Err(malformed("JSON: expected , or a closing bracket")),
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// A member's name and `:`, checked: never an identity key, and at the top level
    /// (`depth` 1) never repeated, and recorded in `names`.
    fn member(
        &mut self,
        depth: usize,
        is_identity: &impl Fn(&str) -> bool,
        names: &mut alloc::vec::Vec<&'a str>,
    ) -> Result<()> {
        let name = self.member_name()?;
        if is_identity(name) {
            return Err(ReportError::IdentityKey);
        }
        if depth == 1 {
            if names.contains(&name) {
                return Err(malformed("a member name is repeated"));
            }
            names.push(name);
        }
        Ok(())
    }

    /// `"name"` then `:`; the name without escapes (so what a reader decodes is what
    /// L1 checked).
    fn member_name(&mut self) -> Result<&'a str> {
        if self.peek() != Some(b'"') {
            return Err(malformed("JSON: expected a member name"));
        }
        let start = self.at + 1;
        let len = self.s[start..]
            .iter()
            .position(|&b| b == b'"')
            .ok_or(malformed("JSON: unterminated member name"))?;
        let name = &self.s[start..start + len];
        if name.iter().any(|&b| b == b'\\' || b < 0x20) {
            return Err(malformed("JSON member names carry no escapes"));
        }
        self.at = start + len + 1;
        self.ws();
        if self.peek() != Some(b':') {
            return Err(malformed("JSON: expected : after a member name"));
        }
        self.at += 1;
        core::str::from_utf8(name).map_err(|_| malformed("JSON member name is not UTF-8"))
    }

    fn string(&mut self) -> Result<()> {
        self.at += 1; // the opening quote
        loop {
            match self.peek().ok_or(malformed("JSON: unterminated string"))? {
                b'"' => {
                    self.at += 1;
                    return Ok(());
                }
                b'\\' => {
                    self.at += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1;
                        }
                        Some(b'u') => {
                            let hex = self.s.get(self.at + 1..self.at + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(malformed("JSON: bad \\u escape"));
                            }
                            self.at += 5;
                        }
                        _ => return Err(malformed("JSON: bad escape")),
                    }
                }
                b if b < 0x20 => return Err(malformed("JSON: control character in a string")),
                _ => self.at += 1,
            }
        }
    }

    fn literal(&mut self, word: &str) -> Result<()> {
        if self.s[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(())
        } else {
            Err(malformed("JSON: unknown literal"))
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<()> {
        let bad = || malformed("JSON: bad number");
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(bad()),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            self.digits();
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }
}
