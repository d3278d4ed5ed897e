//! Splitting one oplog-csv v1 line into its 14 fields (RFC 4180).
//!
//! This module only finds field boundaries; turning fields into typed columns is the
//! decoder's job. A valid line has exactly 14 fields; any field may be quoted, and a quoted
//! field never spans lines. The common line — ids unquoted, detail maybe quoted — takes a
//! fast path: the 13 commas before `detail` are found sixteen bytes a step with SIMD
//! compares (`wide`: SSE2 on x86-64, NEON on aarch64, safe code), and the long free-text
//! `detail` is searched with `memchr`. Anything else (a quoted id field) takes the general
//! splitter; both give the same answer.

use memchr::memchr;
use wide::u8x16;

use super::reject::RejectReason;

/// The header of oplog-csv v1, in order: the first columns of the event schema, which
/// are named after it.
pub const HEADER: &[&str] = super::schema::COLUMN_NAMES.split_at(FIELDS).0;

/// Fields in a line of oplog-csv v1.
pub const FIELDS: usize = 14;

/// The byte ranges of one line's fields, without their quotes.
#[derive(Debug, Clone, Default)]
pub struct Spans {
    pub start: [u32; FIELDS],
    pub end: [u32; FIELDS],
    /// Bit `i` set: field `i` holds doubled quotes (`""`) that must be unescaped.
    pub escaped: u16,
}

impl Spans {
    /// The raw text of field `i` (still with doubled quotes if `escaped` says so).
    #[inline]
    pub fn get<'a>(&self, line: &'a str, i: usize) -> &'a str {
        &line[self.start[i] as usize..self.end[i] as usize]
    }

    /// The raw bytes of field `i`.
    #[inline]
    pub fn bytes<'a>(&self, line: &'a [u8], i: usize) -> &'a [u8] {
        &line[self.start[i] as usize..self.end[i] as usize]
    }

    #[inline]
    pub fn is_escaped(&self, i: usize) -> bool {
        self.escaped & (1 << i) != 0
    }
}

/// Splits `line` (without its line end) into exactly [`FIELDS`] fields.
///
/// Errors: [`RejectReason::FieldCount`] for more or fewer fields,
/// [`RejectReason::Quote`] for an unterminated quoted field or text after a closing quote.
#[inline]
pub fn split(line: &[u8], spans: &mut Spans) -> Result<(), RejectReason> {
    spans.escaped = 0;
    match fast_scan(line) {
        Some(commas) => {
            let mut start = 0u32;
            for (i, &c) in commas.iter().enumerate() {
                spans.start[i] = start;
                spans.end[i] = c;
                start = c + 1;
            }
            let pos = start as usize;
            if line.get(pos) == Some(&b'"') {
                last_field(line, pos, spans)
            } else {
                // A quote inside an unquoted field is taken literally (as spreadsheet
                // software does); only a comma makes a fifteenth field.
                let mut j = pos;
                while j < line.len() {
                    if masks(line, j).0 != 0 {
                        return Err(RejectReason::FieldCount);
                    }
                    j += 16;
                }
                spans.start[FIELDS - 1] = start;
                spans.end[FIELDS - 1] = line.len() as u32;
                Ok(())
            }
        }
        None => split_general(line, spans),
    }
}

/// Bit masks of the commas and quotes in the sixteen bytes of `line` from `i`: bit `k`
/// stands for `line[i + k]`, and bits past the end of the line are clear.
///
/// A tail shorter than sixteen bytes is read as the line's last sixteen bytes, shifted
/// into place (no copy into a padded buffer, which cost a `memcpy` call per line); only
/// a line shorter than one lane is padded.
#[inline(always)]
fn masks(line: &[u8], i: usize) -> (u32, u32) {
    let comma = u8x16::splat(b',');
    let quote = u8x16::splat(b'"');
    let eq = |a: [u8; 16]| {
        let v = u8x16::new(a);
        (v.simd_eq(comma).to_bitmask(), v.simd_eq(quote).to_bitmask())
    };
    let n = line.len();
    if let Some(a) = line
        .get(i..i + 16)
        .and_then(|s| <[u8; 16]>::try_from(s).ok())
    {
        return eq(a);
    }
    match n
        .checked_sub(16)
        .and_then(|s| line.get(s..))
        .and_then(|s| <[u8; 16]>::try_from(s).ok())
    {
        Some(a) => {
            // The last sixteen bytes start `shift` bytes before `i`.
            let shift = (i + 16 - n) as u32;
            let (c, q) = eq(a);
            (c >> shift, q >> shift)
        }
        None => {
            let mut buf = [0u8; 16];
            let tail = line.get(i..).unwrap_or(&[]);
            buf[..tail.len()].copy_from_slice(tail);
            eq(buf)
        }
    }
}

/// The fast path: the first 13 commas when no quote comes before the 13th, sixteen bytes
/// a step with SIMD compares. `None` sends the line to the general splitter.
#[inline]
fn fast_scan(line: &[u8]) -> Option<[u32; FIELDS - 1]> {
    // Room for a whole lane of commas past the 13th, so that a lane's commas are all
    // written without a count check per comma; the index mask keeps writes in bounds.
    let mut commas = [0u32; 32];
    let mut count = 0usize;
    let mut i = 0;
    while i < line.len() {
        let (all, quotes) = masks(line, i);
        // Commas after a quote do not count: only those before it.
        let mut m = if quotes != 0 {
            all & ((quotes & quotes.wrapping_neg()) - 1)
        } else {
            all
        };
        while m != 0 {
            commas[count & 31] = (i + m.trailing_zeros() as usize) as u32;
            count += 1;
            m &= m - 1;
        }
        if count >= FIELDS - 1 {
            let mut first = [0u32; FIELDS - 1];
            first.copy_from_slice(&commas[..FIELDS - 1]);
            return Some(first);
        }
        if quotes != 0 {
            return None;
        }
        i += 16;
    }
    None
}

/// Bytes the structural scan classifies in one step.
const BLOCK: usize = 64;

/// A cursor over the structural bytes of a whole text — `,` `"` `\n` — in order.
///
/// The text is classified 64 bytes at a time into one bit mask (sixteen-byte SIMD
/// compares), so finding a line's fields costs a few instructions per comma instead of a
/// newline search per line plus a comma scan per field. Blocks are aligned to the start
/// of the text; bits of positions already consumed are cleared.
#[derive(Debug)]
pub struct Cursor<'a> {
    text: &'a [u8],
    base: usize,
    mask: u64,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a [u8]) -> Self {
        Cursor {
            text,
            base: 0,
            mask: block_mask(text, 0),
        }
    }

    /// The position of the next structural byte, or the length of the text when none is
    /// left (the end of the text ends the last line as a `\n` would).
    #[inline(always)]
    pub fn next_pos(&mut self) -> usize {
        next_structural(self.text, &mut self.base, &mut self.mask)
    }

    /// Forgets the structural bytes before `pos`.
    #[inline]
    pub fn skip_to(&mut self, pos: usize) {
        let block = pos - pos % BLOCK;
        if block != self.base {
            self.base = block;
            self.mask = block_mask(self.text, block);
        }
        self.mask &= u64::MAX << (pos - block);
    }
}

/// [`Cursor::next_pos`] on the cursor's fields, so that a caller can keep them in
/// registers for the length of a line.
#[inline(always)]
fn next_structural(text: &[u8], base: &mut usize, mask: &mut u64) -> usize {
    while *mask == 0 {
        if *base + BLOCK >= text.len() {
            return text.len();
        }
        *base += BLOCK;
        *mask = block_mask(text, *base);
    }
    let p = *base + mask.trailing_zeros() as usize;
    *mask &= *mask - 1;
    p
}

/// The structural bytes of the 64 bytes of `text` from `base` as bits (bit `k` for
/// `text[base + k]`); positions past the end are clear.
#[inline]
fn block_mask(text: &[u8], base: usize) -> u64 {
    match text
        .get(base..base + BLOCK)
        .and_then(|s| <&[u8; BLOCK]>::try_from(s).ok())
    {
        Some(block) => classify(block),
        None => {
            let mut buf = [0u8; BLOCK];
            let tail = text.get(base..).unwrap_or(&[]);
            buf[..tail.len()].copy_from_slice(tail);
            classify(&buf)
        }
    }
}

#[inline(always)]
fn classify(block: &[u8; BLOCK]) -> u64 {
    let comma = u8x16::splat(b',');
    let quote = u8x16::splat(b'"');
    let newline = u8x16::splat(b'\n');
    let mut mask = 0u64;
    for (k, lane) in block.chunks_exact(16).enumerate() {
        let mut a = [0u8; 16];
        a.copy_from_slice(lane);
        let v = u8x16::new(a);
        let hits = v.simd_eq(comma) | v.simd_eq(quote) | v.simd_eq(newline);
        mask |= (hits.to_bitmask() as u64) << (16 * k);
    }
    mask
}

/// Doubled quotes a `detail` may hold and still take the fast path.
pub const MAX_TWINS: usize = 8;

/// A line in the common shape, found by [`fast_line`]: thirteen plain fields, then a
/// plain or quoted `detail`. Positions are into the whole text.
#[derive(Debug, Clone, Default)]
pub struct FastLine {
    /// The thirteen commas; field `i < 13` ends at `commas[i]`.
    pub commas: [usize; FIELDS - 1],
    /// The `detail` field without quotes (and without the line's `\r`).
    pub detail: (usize, usize),
    /// The second quote of each doubled pair in `detail` (`twins[..n_twins]`).
    pub twins: [usize; MAX_TWINS],
    pub n_twins: usize,
    /// Where the line's `\n` is (the text's length for a last line without one).
    pub newline: usize,
}

/// Splits the line that starts at `text[start]` when it has the common shape: no quote
/// in the first thirteen fields, and a `detail` that is either plain (no comma, no quote)
/// or one well-formed quoted field. Any other line — short, long, quoted ids, a literal
/// quote, bad quoting, a blank line — gives `false`, and the caller splits it with
/// [`split`], which gives the same fields for every line this accepts.
///
/// The cursor must stand at `start`; afterwards it has consumed at most the line's `\n`.
#[inline]
pub fn fast_line(text: &[u8], cursor: &mut Cursor<'_>, out: &mut FastLine) -> bool {
    let (mut base, mut mask) = (cursor.base, cursor.mask);
    let mut next = || next_structural(text, &mut base, &mut mask);
    let found = split_fast(text, &mut next, out);
    (cursor.base, cursor.mask) = (base, mask);
    found
}

/// The body of [`fast_line`], taking structural positions from `next`.
#[inline(always)]
fn split_fast(text: &[u8], next: &mut impl FnMut() -> usize, out: &mut FastLine) -> bool {
    for slot in out.commas.iter_mut() {
        let p = next();
        if text.get(p) != Some(&b',') {
            return false;
        }
        *slot = p;
    }
    let from = out.commas[FIELDS - 2] + 1;
    let p = next();
    match text.get(p) {
        None | Some(b'\n') => {
            // The line's own `\r` is not part of the field (the detail is at least one
            // byte long here, since `text[from - 1]` is the comma).
            let end = if p > from && text[p - 1] == b'\r' {
                p - 1
            } else {
                p
            };
            out.detail = (from, end);
            out.n_twins = 0;
            out.newline = p;
            true
        }
        Some(b'"') if p == from => {
            let mut twins = 0;
            loop {
                let q = next();
                match text.get(q) {
                    Some(b',') => {}
                    Some(b'"') if text.get(q + 1) == Some(&b'"') => {
                        let Some(slot) = out.twins.get_mut(twins) else {
                            return false;
                        };
                        *slot = next();
                        twins += 1;
                    }
                    Some(b'"') => {
                        let after = if text.get(q + 1) == Some(&b'\r') {
                            q + 2
                        } else {
                            q + 1
                        };
                        let n = next();
                        if n != after || !matches!(text.get(n), None | Some(b'\n')) {
                            return false;
                        }
                        out.detail = (from + 1, q);
                        out.n_twins = twins;
                        out.newline = n;
                        return true;
                    }
                    _ => return false,
                }
            }
        }
        _ => false,
    }
}

/// The last field (`detail`): the rest of the line from `pos`.
#[inline]
fn last_field(line: &[u8], pos: usize, spans: &mut Spans) -> Result<(), RejectReason> {
    let last = FIELDS - 1;
    let n = line.len();
    if line.get(pos) == Some(&b'"') {
        let end = quoted(line, pos, last, spans)?;
        if end != n {
            return Err(if line[end] == b',' {
                RejectReason::FieldCount
            } else {
                RejectReason::Quote
            });
        }
    } else {
        // A quote inside an unquoted field is taken literally (as spreadsheet software
        // does); only a comma makes a fifteenth field.
        if memchr(b',', &line[pos..]).is_some() {
            return Err(RejectReason::FieldCount);
        }
        spans.start[last] = pos as u32;
        spans.end[last] = n as u32;
    }
    Ok(())
}

/// The general splitter: any field may be quoted.
fn split_general(line: &[u8], spans: &mut Spans) -> Result<(), RejectReason> {
    let mut pos = 0usize;
    for field in 0..FIELDS - 1 {
        if line.get(pos) == Some(&b'"') {
            pos = quoted(line, pos, field, spans)?;
            match line.get(pos) {
                Some(b',') => pos += 1,
                Some(_) => return Err(RejectReason::Quote),
                None => return Err(RejectReason::FieldCount),
            }
            continue;
        }
        let end = pos + memchr(b',', &line[pos..]).ok_or(RejectReason::FieldCount)?;
        spans.start[field] = pos as u32;
        spans.end[field] = end as u32;
        pos = end + 1;
    }
    last_field(line, pos, spans)
}

/// Parses the quoted field that opens at `line[open]`; records its span (inside the
/// quotes) and returns the position just after the closing quote.
#[inline]
fn quoted(
    line: &[u8],
    open: usize,
    field: usize,
    spans: &mut Spans,
) -> Result<usize, RejectReason> {
    let mut i = open + 1;
    loop {
        let q = i + memchr(b'"', &line[i..]).ok_or(RejectReason::Quote)?;
        if line.get(q + 1) == Some(&b'"') {
            spans.escaped |= 1 << field;
            i = q + 2;
            continue;
        }
        spans.start[field] = (open + 1) as u32;
        spans.end[field] = q as u32;
        return Ok(q + 1);
    }
}

/// Undoes doubled quotes: `a""b` → `a"b`, appended to `out`.
pub fn unescape_into(field: &str, out: &mut String) {
    let mut rest = field;
    while let Some(k) = memchr(b'"', rest.as_bytes()) {
        out.push_str(&rest[..=k]);
        // The quote at k is the first of a pair (the splitter checked), skip its twin.
        rest = rest.get(k + 2..).unwrap_or("");
    }
    out.push_str(rest);
}

/// Undoes doubled quotes in `field` (which starts at position `base` of the text) given
/// where the second quote of each pair is ([`FastLine::twins`]), into `out` (cleared
/// first). `false` if a position does not fit the field.
pub fn unescape_at(field: &str, base: usize, twins: &[usize], out: &mut String) -> bool {
    out.clear();
    let mut from = 0;
    for &t in twins {
        let Some(piece) = t.checked_sub(base).and_then(|t| field.get(from..t)) else {
            return false;
        };
        out.push_str(piece);
        from = t - base + 1;
    }
    match field.get(from..) {
        Some(rest) => {
            out.push_str(rest);
            true
        }
        None => false,
    }
}

/// Whether `line` is the oplog-csv v1 header (names may be quoted or padded with spaces).
pub fn is_header(line: &[u8]) -> bool {
    let mut spans = Spans::default();
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    if split(line, &mut spans).is_err() {
        return false;
    }
    HEADER
        .iter()
        .enumerate()
        .all(|(i, name)| spans.get(text, i).trim() == *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Result<Vec<String>, RejectReason> {
        let mut s = Spans::default();
        split(line.as_bytes(), &mut s)?;
        Ok((0..FIELDS)
            .map(|i| {
                let raw = s.get(line, i);
                if s.is_escaped(i) {
                    let mut out = String::new();
                    unescape_into(raw, &mut out);
                    out
                } else {
                    raw.to_owned()
                }
            })
            .collect())
    }

    const PLAIN: &str =
        "E1,2026-04-01T08:45:12+09:00,T1,OP1,,VIEW,W01,12345678901,1,R1,,,OK,住民票";

    #[test]
    fn plain_line() {
        let f = fields(PLAIN).unwrap();
        assert_eq!(f[0], "E1");
        assert_eq!(f[4], "");
        assert_eq!(f[5], "VIEW");
        assert_eq!(f[13], "住民票");
    }

    #[test]
    fn quoted_fields_anywhere() {
        let line = r#""E1","2026/04/01 08:45:12",T1,OP1,,"VIEW",W01,,0,,,,OK,"住民票の写し, 広域交付 ""至急""""#;
        let f = fields(line).unwrap();
        assert_eq!(f[0], "E1");
        assert_eq!(f[1], "2026/04/01 08:45:12");
        assert_eq!(f[5], "VIEW");
        assert_eq!(f[13], r#"住民票の写し, 広域交付 "至急""#);
    }

    #[test]
    fn empty_quoted_and_trailing_empty() {
        let f = fields(r#"E1,t,,"",,VIEW,,,,,,,,"#).unwrap();
        assert_eq!(f[3], "");
        assert_eq!(f[13], "");
    }

    #[test]
    fn field_counts() {
        assert_eq!(fields("a,b,c"), Err(RejectReason::FieldCount));
        assert_eq!(
            fields(&format!("{PLAIN},extra")),
            Err(RejectReason::FieldCount)
        );
        assert_eq!(
            fields(r#"E1,t,,,,VIEW,,,,,,,,"x",y"#),
            Err(RejectReason::FieldCount)
        );
        assert_eq!(fields(""), Err(RejectReason::FieldCount));
    }

    #[test]
    fn quote_errors() {
        assert_eq!(
            fields(r#"E1,t,,,,VIEW,,,,,,,,"unterminated"#),
            Err(RejectReason::Quote)
        );
        assert_eq!(
            fields(r#"E1,"t"x,,,,VIEW,,,,,,,,d"#),
            Err(RejectReason::Quote)
        );
        assert_eq!(
            fields(r#"E1,t,,,,VIEW,,,,,,,,"a"b"#),
            Err(RejectReason::Quote)
        );
        assert_eq!(
            fields(r#""E1,t,,,,VIEW,,,,,,,,d"#),
            Err(RejectReason::Quote)
        );
    }

    #[test]
    fn fast_and_general_paths_agree() {
        // Quotes placed before, inside and after the id fields, lines shorter and longer
        // than a word, commas at word edges.
        let lines = [
            PLAIN.to_owned(),
            r#"E1,t,,,,VIEW,,,,,,,,"a,b""#.to_owned(),
            r#"E1,t,,,,VIEW,,,,,,,"OK","a""b""#.to_owned(),
            r#""E1",t,,,,VIEW,,,,,,,,x"#.to_owned(),
            ",,,,,,,,,,,,,".to_owned(),
            ",,,,,,,,,,,,,\"\"".to_owned(),
            ",,,,,,,,,,,,,x,".to_owned(),
            ",,,,,,,,,,,,,0123456789abcdef,".to_owned(),
            ",,,,,,,,,,,,,0123456789abcdefg".to_owned(),
            "a,b,c,d,e,f,g,h,i,j,k,l,m,n".to_owned(),
            "a,b,c,d,e,f,g,h,i,j,k,l,m,\"n,\"\"o\"".to_owned(),
            "E12345678,2026-04-01T08:45:12+09:00,T,O,,VIEW,W,1,2,3,4,5,6,7".to_owned(),
        ];
        for line in lines {
            let mut fast = Spans::default();
            let mut general = Spans::default();
            let a = split(line.as_bytes(), &mut fast);
            let b = split_general(line.as_bytes(), &mut general);
            assert_eq!(a, b, "{line}");
            if a.is_ok() {
                assert_eq!(
                    (fast.start, fast.end, fast.escaped),
                    (general.start, general.end, general.escaped),
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn literal_quote_in_unquoted_field() {
        let f = fields(r#"E1,t,,,,VIEW,,,,,,,,he said "hi""#).unwrap();
        assert_eq!(f[13], r#"he said "hi""#);
    }

    #[test]
    fn header_detection() {
        assert!(is_header(HEADER.join(",").as_bytes()));
        let quoted: Vec<String> = HEADER.iter().map(|h| format!("\"{h}\"")).collect();
        assert!(is_header(quoted.join(",").as_bytes()));
        assert!(!is_header(PLAIN.as_bytes()));
        assert!(!is_header(HEADER[..13].join(",").as_bytes()));
    }
}
