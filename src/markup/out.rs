//! The text an HTML reading writes: whitespace owed rather than written, so that lines and
//! the result come out trimmed, and characters no reader sees dropped.

use super::control::{is_unsafe, Seq};

/// How whitespace inside a text run is treated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Ws {
    /// HTML flow text: every whitespace run is one space.
    Collapse,
    /// Markup-free input: line breaks survive, other runs become one space.
    Lines,
    /// Inside `pre`: line breaks and in-line whitespace are kept.
    Pre,
}

/// Accumulates visible text. Whitespace is never written eagerly: it is
/// remembered as pending and only materialised in front of the next visible
/// character, which trims lines and the result for free.
pub(super) struct Out {
    buf: String,
    /// Line breaks owed before the next visible char (0, 1 or 2).
    newlines: u8,
    /// A collapsed space is owed before the next visible char.
    space: bool,
    /// Whitespace kept verbatim inside `pre`, owed before the next visible char.
    indent: String,
    /// The previous char was a CR, so a following LF is part of the same break.
    after_cr: bool,
    /// Where the text is in a terminal escape sequence (dropped whole).
    seq: Seq,
}

impl Out {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Out {
            buf: String::with_capacity(capacity),
            newlines: 0,
            space: false,
            indent: String::new(),
            after_cr: false,
            seq: Seq::Text,
        }
    }

    /// Require at least `lines` line breaks (1 = new line, 2 = blank line).
    pub(super) fn block_break(&mut self, lines: u8) {
        self.newlines = self.newlines.max(lines);
        self.indent.clear();
        self.after_cr = false;
    }

    /// One more line break (`<br>`, or a newline in preserved text), capped at a blank line.
    pub(super) fn line_break(&mut self) {
        self.newlines = (self.newlines + 1).min(2);
        self.indent.clear();
    }

    pub(super) fn soft_space(&mut self) {
        self.space = true;
    }

    pub(super) fn text(&mut self, s: &str, ws: Ws) {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            // A run of visible ASCII, with single spaces between visible chars, is copied in one
            // go: its first char owes what any visible char owes, and in every mode a lone space
            // before a visible char comes out as that one space.
            if is_visible_ascii(b[i]) && self.seq == Seq::Text {
                let end = i + plain_run(&b[i..]);
                self.after_cr = false;
                self.settle_pending();
                self.buf.push_str(&s[i..end]);
                i = end;
                continue;
            }
            let Some(c) = s[i..].chars().next() else { break };
            self.char(c, ws);
            i += c.len_utf8();
        }
    }

    /// One char of [`Out::text`].
    fn char(&mut self, c: char, ws: Ws) {
        if self.seq.swallow(c) {
            return;
        }
        let after_cr = std::mem::replace(&mut self.after_cr, false);
        match c {
            '\u{AD}' => {}
            '\r' if ws != Ws::Collapse => {
                self.line_break();
                self.after_cr = true;
            }
            '\n' if ws != Ws::Collapse => {
                if !after_cr {
                    self.line_break();
                }
            }
            c if c.is_whitespace() => {
                if ws == Ws::Pre {
                    self.indent.push(if c == '\u{A0}' { ' ' } else { c });
                } else {
                    self.space = true;
                }
            }
            // Control characters, terminal escape sequences (above) and bidi overrides are not
            // text a reader sees.
            c if is_unsafe(c) => {}
            c => {
                self.settle_pending();
                self.buf.push(c);
            }
        }
    }

    /// Write the whitespace owed before a visible char; nothing at the very start.
    fn settle_pending(&mut self) {
        if !self.buf.is_empty() {
            if self.newlines > 0 {
                for _ in 0..self.newlines {
                    self.buf.push('\n');
                }
                self.buf.push_str(&self.indent);
            } else if !self.indent.is_empty() {
                self.buf.push_str(&self.indent);
            } else if self.space {
                self.buf.push(' ');
            }
        }
        self.newlines = 0;
        self.space = false;
        self.indent.clear();
    }

    pub(super) fn finish(self) -> String {
        self.buf
    }
}

/// Length of the run at the start of `b` that [`Out::text`] copies as it is: visible ASCII and
/// single spaces, each followed by visible ASCII.
fn plain_run(b: &[u8]) -> usize {
    const BLOCK: usize = 16;
    let mut end = 0;
    // Whole blocks first, in a loop without branches that the compiler can vectorise; a block
    // is taken when each byte is visible or a space before a visible byte (the byte after the
    // block is looked at too).
    while let Some(block) = b.get(end..=end + BLOCK) {
        let mut visible = [0u8; BLOCK + 1];
        for (v, &c) in visible.iter_mut().zip(block) {
            *v = u8::from(is_visible_ascii(c));
        }
        let mut plain = 1u8;
        for k in 0..BLOCK {
            plain &= visible[k] | (u8::from(block[k] == b' ') & visible[k + 1]);
        }
        if plain == 0 {
            break;
        }
        end += BLOCK;
    }
    while end < b.len() {
        if is_visible_ascii(b[end]) {
            end += 1;
        } else if b[end] == b' ' && b.get(end + 1).is_some_and(|&c| is_visible_ascii(c)) {
            end += 2;
        } else {
            break;
        }
    }
    end
}

/// ASCII that [`Out::text`] writes as it is: printable characters but the space (no control
/// characters, which [`Out::char`] drops, no whitespace).
fn is_visible_ascii(b: u8) -> bool {
    // Branch-free, for plain_run: 0x21..=0x7E.
    b.wrapping_sub(0x21) < 0x5E
}
