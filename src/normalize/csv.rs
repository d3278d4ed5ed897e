//! Splitting one oplog-csv v1 line into its 14 fields (RFC 4180).
//!
//! This module only finds field boundaries; turning fields into typed columns is the
//! decoder's job. A valid line has exactly 14 fields; any field may be quoted, and a quoted
//! field never spans lines. The common line — ids unquoted, detail maybe quoted — takes a
//! fast path: the 13 commas before `detail` are found sixteen bytes a step with SIMD
//! compares (`wide`: SSE2 on x86-64, NEON on aarch64, safe code), and the long free-text
//! `detail` is searched with `memchr`. Anything else (a quoted id field) takes the general
//! splitter; both give the same answer.
//!
//! The decoder does not call [`split`] for most lines, though: [`fast_line`] takes the
//! common lines straight from a [`Cursor`] that classifies the whole text once, 64 bytes a
//! step, into bit masks of commas and of quotes and newlines, so neither a newline search
//! per line nor a scan per line is needed. Two shapes are common — ids unquoted, and every
//! field quoted (as some exporters write, half the offices of a `tenken gen` set) — and
//! both are taken. It accepts only lines whose fields `split` would find the same (a test
//! checks them line by line, a property test on random near-miss lines); every other line
//! goes to `split`.

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

/// A cursor over the structural bytes of a whole text, in order: commas in one bit mask,
/// `"` and `\n` in another.
///
/// The text is classified 64 bytes at a time (sixteen-byte SIMD compares), so finding a
/// line's fields costs a few instructions per comma instead of a newline search per line
/// plus a comma scan per field; keeping commas apart lets the common line take its
/// thirteen commas without looking at their bytes. Blocks are aligned to the start of the
/// text; bits of positions already consumed are cleared. [`fast_line`] works on a copy in
/// locals, so that the state stays in registers for the length of a line.
#[derive(Debug, Clone, Copy)]
pub struct Cursor<'a> {
    text: &'a [u8],
    base: usize,
    commas: u64,
    others: u64,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a [u8]) -> Self {
        let (commas, others) = block_masks(text, 0);
        Cursor {
            text,
            base: 0,
            commas,
            others,
        }
    }

    /// Puts the cursor at `pos`: the structural bytes from there on, and none before. The
    /// block is classified again, since a failed [`fast_line`] may have consumed commas
    /// past its line.
    #[inline]
    pub fn skip_to(&mut self, pos: usize) {
        let block = pos - pos % BLOCK;
        self.base = block;
        (self.commas, self.others) = block_masks(self.text, block);
        let keep = u64::MAX << (pos - block);
        self.commas &= keep;
        self.others &= keep;
    }

    /// Moves to the next block; `false` at the end of the text.
    #[inline(always)]
    fn advance(&mut self) -> bool {
        if self.base + BLOCK >= self.text.len() {
            return false;
        }
        self.base += BLOCK;
        (self.commas, self.others) = block_masks(self.text, self.base);
        true
    }

    /// The next comma; `None` at the end of the text or when a block is left with a quote
    /// or a newline still unconsumed (one came before the comma). A quote or newline
    /// before the comma in the comma's own block is not noticed here: the caller checks.
    #[inline(always)]
    fn comma(&mut self) -> Option<usize> {
        while self.commas == 0 {
            if self.others != 0 || !self.advance() {
                return None;
            }
        }
        let p = self.base + self.commas.trailing_zeros() as usize;
        self.commas &= self.commas - 1;
        Some(p)
    }

    /// The next structural byte of any kind, or the length of the text when none is left
    /// (the end of the text ends the last line as a `\n` would).
    #[inline(always)]
    pub fn any(&mut self) -> usize {
        while self.commas | self.others == 0 {
            if !self.advance() {
                return self.text.len();
            }
        }
        let m = self.commas | self.others;
        let low = m & m.wrapping_neg();
        self.commas &= !low;
        self.others &= !low;
        self.base + low.trailing_zeros() as usize
    }
}

/// The commas and the other structural bytes (`"`, `\n`) of the 64 bytes of `text` from
/// `base` as bits (bit `k` for `text[base + k]`); positions past the end are clear.
#[inline]
fn block_masks(text: &[u8], base: usize) -> (u64, u64) {
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
fn classify(block: &[u8; BLOCK]) -> (u64, u64) {
    let comma = u8x16::splat(b',');
    let quote = u8x16::splat(b'"');
    let newline = u8x16::splat(b'\n');
    let (mut commas, mut others) = (0u64, 0u64);
    for (k, lane) in block.chunks_exact(16).enumerate() {
        let mut a = [0u8; 16];
        a.copy_from_slice(lane);
        let v = u8x16::new(a);
        commas |= (v.simd_eq(comma).to_bitmask() as u64) << (16 * k);
        others |= ((v.simd_eq(quote) | v.simd_eq(newline)).to_bitmask() as u64) << (16 * k);
    }
    (commas, others)
}

/// Doubled quotes a `detail` may hold and still take the fast path.
pub const MAX_TWINS: usize = 8;

/// A line in one of the two common shapes, found by [`fast_line`]: thirteen fields all
/// plain or all quoted, then a plain or quoted `detail`. Positions are into the whole
/// text.
#[derive(Debug, Clone, Default)]
pub struct FastLine {
    /// The thirteen commas; field `i < 13` ends at `commas[i]` (before its closing
    /// quote when `quote` is 1).
    pub commas: [usize; FIELDS - 1],
    /// 1 when the thirteen fields are quoted (some exporters quote every field), else 0:
    /// the bytes each quote takes at either end of a field.
    pub quote: usize,
    /// The `detail` field without quotes (and without the line's `\r`).
    pub detail: (usize, usize),
    /// The second quote of each doubled pair in `detail` (`twins[..n_twins]`).
    pub twins: [usize; MAX_TWINS],
    pub n_twins: usize,
    /// Where the line's `\n` is (the text's length for a last line without one).
    pub newline: usize,
}

impl FastLine {
    /// The bytes of field `i < 13` of the line that starts at `start`, without quotes.
    #[inline(always)]
    pub fn field(&self, start: usize, i: usize) -> std::ops::Range<usize> {
        let from = if i == 0 {
            start
        } else {
            self.commas[i - 1] + 1
        };
        from + self.quote..self.commas[i] - self.quote
    }
}

/// Splits the line that starts at `start` of the cursor's text when it has one of the common shapes:
/// the first thirteen fields either all unquoted (no quote in them) or all quoted (no
/// comma, newline or doubled quote inside, nothing between a closing quote and its
/// comma), and a `detail` that is either plain (no comma, no quote) or one well-formed
/// quoted field. Any other line — short, long, quoting mixed across the ids, a literal
/// quote, bad quoting, a blank line — gives `false`, and the caller splits it with
/// [`split`], which gives the same fields for every line this accepts.
///
/// The cursor must stand at the line's start. After `true` it stands after the line's
/// `\n`; after `false` it is anywhere, and the caller puts it back with
/// [`Cursor::skip_to`].
#[inline]
pub fn fast_line(start: usize, cursor: &mut Cursor<'_>, out: &mut FastLine) -> bool {
    let mut scan = *cursor;
    let found = if scan.text.get(start) == Some(&b'"') {
        out.quote = 1;
        split_quoted(&mut scan, start, out)
    } else {
        out.quote = 0;
        split_fast(&mut scan, out)
    };
    *cursor = scan;
    found
}

/// [`fast_line`] for a line whose thirteen fields are plain.
#[inline(always)]
fn split_fast(scan: &mut Cursor<'_>, out: &mut FastLine) -> bool {
    for slot in out.commas.iter_mut() {
        let Some(p) = scan.comma() else {
            return false;
        };
        *slot = p;
    }
    // No quote or newline before the thirteenth comma: one in an earlier block stopped
    // `comma`, one in this block would lie below the comma's bit.
    let last = out.commas[FIELDS - 2];
    let below = (1u64 << (last - scan.base)) - 1;
    if scan.others & below != 0 {
        return false;
    }
    split_detail(scan, last + 1, out)
}

/// [`fast_line`] for a line whose thirteen fields are quoted. The thirteen commas come
/// from the comma masks as on the plain path, counting the quotes and newlines passed on
/// the way; the line has the shape `"…","…",…,"…",` exactly when every comma has a quote
/// on either side (the last only before it), the fields are long enough for those quotes
/// to be distinct, and no other quote or newline came before the thirteenth comma. So a
/// comma, newline or doubled quote inside a field, or anything between a closing quote
/// and its comma, sends the line to [`split`].
#[inline(always)]
fn split_quoted(scan: &mut Cursor<'_>, start: usize, out: &mut FastLine) -> bool {
    let text = scan.text;
    let mut quotes = 0;
    for slot in out.commas.iter_mut() {
        while scan.commas == 0 {
            quotes += scan.others.count_ones();
            scan.others = 0;
            if !scan.advance() {
                return false;
            }
        }
        *slot = scan.base + scan.commas.trailing_zeros() as usize;
        scan.commas &= scan.commas - 1;
    }
    let last = out.commas[FIELDS - 2];
    let below = (1u64 << (last - scan.base)) - 1;
    quotes += (scan.others & below).count_ones();
    scan.others &= !below;
    let quote = |p: usize| text.get(p) == Some(&b'"');
    // `text[start]` is the first opening quote ([`fast_line`] looked), so every comma
    // lies past it and `c - 1` cannot wrap.
    let mut shaped = true;
    let mut prev = start;
    for (i, &c) in out.commas.iter().enumerate() {
        shaped &= (c >= prev + 2) & quote(c - 1) & (i == FIELDS - 2 || quote(c + 1));
        prev = c + 1;
    }
    // Opening quotes (13) and closing quotes (13), all distinct given the lengths.
    shaped && quotes == 2 * (FIELDS as u32 - 1) && split_detail(scan, last + 1, out)
}

/// The `detail` field, which starts at `from`, and the line's end.
#[inline(always)]
fn split_detail(scan: &mut Cursor<'_>, from: usize, out: &mut FastLine) -> bool {
    let text = scan.text;
    let p = scan.any();
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
                let q = scan.any();
                match text.get(q) {
                    Some(b',') => {}
                    Some(b'"') if text.get(q + 1) == Some(&b'"') => {
                        let Some(slot) = out.twins.get_mut(twins) else {
                            return false;
                        };
                        *slot = scan.any();
                        twins += 1;
                    }
                    Some(b'"') => {
                        let after = if text.get(q + 1) == Some(&b'\r') {
                            q + 2
                        } else {
                            q + 1
                        };
                        let n = scan.any();
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
    use proptest::prelude::*;

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
    const QUOTED: &str = r#""E1","2026/04/01 08:45:12","T1","OP1","","VIEW","W01","12345678901","1","R1","","","OK","住民票 ""写し"", 広域""#;

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
    fn fast_lines_agree_with_split_line_by_line() {
        // Lines of every shape, long and short, so that lines and fields cross the
        // 64-byte blocks at many offsets; blank and short lines between them.
        // (line, whether the fast path takes it)
        let shapes = [
            (PLAIN.to_owned(), true),
            (format!("{PLAIN}\r"), true),
            ("E1,t,,,,VIEW,,,,,,,,\"a,b \"\"c\"\" d\"".to_owned(), true),
            ("E1,t,,,,VIEW,,,,,,,,\"a\"\r".to_owned(), true),
            ("E1,t,,,,VIEW,,,,,,,,\"\"".to_owned(), true),
            (
                format!("{},,,,,,,,,,,,,{}", "i".repeat(70), "d".repeat(90)),
                true,
            ),
            (String::new(), false),
            ("a,b,c".to_owned(), false),
            ("E1,t,,,,VIEW,,,,,,,,x,y".to_owned(), false),
            ("E1,t,,,,VIEW,,,,,,,,\"open".to_owned(), false),
            ("E1,t,,,,VIEW,,,,,,,,\"a\"b".to_owned(), false),
            ("E1,\"t\",,,,VIEW,,,,,,,,d".to_owned(), false),
            ("E1,t,,,,VIEW,,,,,,,,he said \"hi\"".to_owned(), false),
            (
                format!("E1,t,,,,VIEW,,,,,,,,\"{}\"", "a\"\"".repeat(9)),
                false,
            ),
            // Every field quoted, as some exporters write them.
            (QUOTED.to_owned(), true),
            (format!("{QUOTED}\r"), true),
            (
                r#""","","","","","","","","","","","","","""#.to_owned(),
                true,
            ),
            (
                r#""E1","t","","","","VIEW","","","","","","","OK",d"#.to_owned(),
                true,
            ),
            (
                format!(
                    "\"{}\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"{}\"",
                    "i".repeat(70),
                    "d".repeat(90)
                ),
                true,
            ),
            (
                r#""E1","t","","","","VIEW","","","","","","",OK,"d""#.to_owned(),
                false,
            ),
            (
                r#""E1",t,"","","","VIEW","","","","","","","OK","d""#.to_owned(),
                false,
            ),
            (
                r#""E,1","t","","","","VIEW","","","","","","","OK","d""#.to_owned(),
                false,
            ),
            (
                r#""E""1","t","","","","VIEW","","","","","","","OK","d""#.to_owned(),
                false,
            ),
            (
                r#""E1",",","","","VIEW","","","","","","","OK","d""#.to_owned(),
                false,
            ),
            // 26 quotes before the thirteenth comma, one of them both closing and opening.
            (
                r#""E1",","t","","","","","","","","","","x"",d"#.to_owned(),
                false,
            ),
            (
                r#"",","t","","","","VIEW","","","","","","","OK","d""#.to_owned(),
                false,
            ),
            (
                r#""E1","t","","","","VIEW","","","","","","","OK","","d""#.to_owned(),
                false,
            ),
            (
                r#""E1"x,"t","","","","VIEW","","","","","","","OK","d""#.to_owned(),
                false,
            ),
            (
                r#""E1","t","","","","VIEW","","","","","","","OK""#.to_owned(),
                false,
            ),
            (
                r#""E1","t","","","","VIEW","","","","","","","OK","d","#.to_owned(),
                false,
            ),
            (
                r#""E1","t","","","","VIEW","","","","","","","OK","d"#.to_owned(),
                false,
            ),
        ];
        let mut text = String::new();
        let mut expected = Vec::new();
        let mut k = 0usize;
        for i in 0..400 {
            k = (k * 7 + i) % shapes.len();
            // Padding inside the first field moves the line across the blocks.
            let pad = "x".repeat(i % 3);
            match shapes[k].0.strip_prefix('"') {
                Some(rest) => text.push_str(&format!("\"{pad}{rest}")),
                None => text.push_str(&format!("{pad}{}", shapes[k].0)),
            }
            text.push('\n');
            expected.push(shapes[k].1);
        }
        text.push_str(PLAIN); // a last line without `\n`
        expected.push(true);
        let took = walk_fast_lines(&text);
        for (n, (&took, &expect)) in took.iter().zip(&expected).enumerate() {
            assert_eq!(took, expect, "line {n}");
        }
        assert_eq!(took.len(), expected.len());
        let taken = took.iter().filter(|&&t| t).count();
        assert!(taken > 100, "{taken}");
    }

    /// Walks `text` line by line with [`fast_line`] as the decoder does, checks that every
    /// line it takes has the fields [`split`] finds, and says which lines it took.
    fn walk_fast_lines(text: &str) -> Vec<bool> {
        let bytes = text.as_bytes();
        let mut cursor = Cursor::new(bytes);
        let mut fast = FastLine::default();
        let mut start = 0;
        let mut took_lines = Vec::new();
        while start <= bytes.len() {
            let nl = memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |k| start + k);
            let line = &text[start..nl];
            let line = line.strip_suffix('\r').unwrap_or(line);
            let took = start < bytes.len() && fast_line(start, &mut cursor, &mut fast);
            took_lines.push(took);
            if took {
                assert_eq!(fast.newline, nl);
                let mut spans = Spans::default();
                split(line.as_bytes(), &mut spans).unwrap();
                assert_eq!(spans.escaped & 0x1fff, 0, "{line}");
                for i in 0..FIELDS - 1 {
                    let (a, b) = (spans.start[i] as usize, spans.end[i] as usize);
                    assert_eq!(a + start..b + start, fast.field(start, i), "{line}");
                }
                let (from, to) = fast.detail;
                assert_eq!(
                    (
                        spans.start[13] as usize + start,
                        spans.end[13] as usize + start
                    ),
                    (from, to),
                    "{line}"
                );
                let mut unescaped = String::new();
                let twins = &fast.twins[..fast.n_twins];
                assert!(unescape_at(&text[from..to], from, twins, &mut unescaped));
                let mut want = String::new();
                unescape_into(spans.get(line, 13), &mut want);
                assert_eq!(unescaped, want, "{line}");
            } else {
                cursor.skip_to((nl + 1).min(bytes.len()));
            }
            start = nl + 1;
        }
        took_lines
    }

    /// A field for the property test: plain, quoted, or one of the near misses.
    fn field_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-z0-9]{0,5}",
            4 => "[a-z0-9]{0,5}".prop_map(|s| format!("\"{s}\"")),
            1 => "[a-z,\"]{0,5}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
            1 => "[a-z,\"\r]{0,6}",
        ]
    }

    /// A line: fourteen fields (now and then one more or one less), every field quoted
    /// or each drawn alone, and sometimes a `\r`.
    fn line_strategy() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(field_strategy(), 13..=15),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(fields, all_quoted, cr)| {
                let fields: Vec<String> = if all_quoted {
                    fields
                        .into_iter()
                        .map(|f| {
                            if f.starts_with('"') {
                                f
                            } else {
                                format!("\"{f}\"")
                            }
                        })
                        .collect()
                } else {
                    fields
                };
                let mut line = fields.join(",");
                if cr {
                    line.push('\r');
                }
                line
            })
    }

    proptest! {
        #[test]
        fn fast_lines_agree_with_split_on_any_lines(
            lines in proptest::collection::vec(line_strategy(), 1..40),
        ) {
            let text = lines.join("\n");
            let took = walk_fast_lines(&text);
            prop_assert_eq!(took.len(), lines.len());
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
