//! Reduction of feed-item HTML to the text a reader actually sees, plus HTML character-reference decoding.
//!
//! Feed bodies (RSS `description` / `content:encoded`, Atom `content`) carry HTML,
//! but watch rules must match visible text only: tag names, attribute values,
//! scripts, styles and comments must never produce a hit.
//!
//! The scanner is a single forward pass over the input bytes. All markup
//! delimiters are ASCII, so every slice taken is on a char boundary. Nothing
//! recurses on nesting depth; open-element state is kept in counters, so
//! arbitrarily deep or malformed markup costs linear time and constant stack.
//!
//! Layout rules, loosely following how browsers render `innerText`:
//! * paragraph-level blocks (`p`, headings, `blockquote`, `pre`, `table`,
//!   top-level lists, …) are separated by one blank line;
//! * line-level blocks (`div`, `li`, `tr`, `dt`, `dd`, `figcaption`, …) and
//!   `<br>` start a new line;
//! * table cells are separated by a space;
//! * whitespace runs collapse to one space outside `pre`; lines are trimmed,
//!   at most one blank line appears in a row, and the result is trimmed;
//! * input without any markup keeps its line structure (runs of blank lines
//!   collapse to one, spaces inside a line collapse).
//!
//! `&nbsp;` (and any decoded U+00A0) becomes an ordinary space, and soft
//! hyphens are removed from [`html_to_text`] output, so "cen&shy;ter" matches
//! "center".

/// Substitute for numeric references that name no valid scalar value.
const REPLACEMENT: char = '\u{FFFD}';

/// Reduce an HTML fragment (or plain text) to the text a reader sees.
///
/// Never panics, runs in time linear in `input.len()` and uses no recursion.
#[must_use]
pub fn html_to_text(input: &str) -> String {
    let mut out = Out::with_capacity(input.len());
    if !has_markup(input.as_bytes()) {
        decode_each(input, &mut |piece| out.text(piece, Ws::Lines));
        return out.finish();
    }
    let mut walker = Walker { src: input, out, list_depth: 0, pre_depth: 0, skip: None };
    walker.run();
    walker.out.finish()
}

/// Decode HTML character references (named, decimal, hex) in plain text.
///
/// Markup is left alone; only `&…` references are replaced. Unknown or
/// malformed references are kept verbatim. Numeric references to zero,
/// surrogates or values above U+10FFFF decode to U+FFFD; references in the
/// 0x80–0x9F range are read as Windows-1252, as browsers do. Non-breaking
/// spaces (`&nbsp;`, `&#160;`) become ordinary spaces.
#[must_use]
pub fn decode_entities(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    decode_each(input, &mut |piece| out.push_str(piece));
    out
}

// ---------------------------------------------------------------------------
// Character references
// ---------------------------------------------------------------------------

/// Walk `input`, handing literal runs and decoded references to `emit` in order.
fn decode_each(input: &str, emit: &mut impl FnMut(&str)) {
    let b = input.as_bytes();
    let mut literal_start = 0;
    let mut i = 0;
    let mut utf8 = [0u8; 4];
    while i < b.len() {
        match memchr::memchr(b'&', &b[i..]) {
            Some(off) => i += off,
            None => break,
        }
        if let Some((c, next)) = reference_at(b, i) {
            if literal_start < i {
                emit(&input[literal_start..i]);
            }
            let c = if c == '\u{A0}' { ' ' } else { c };
            emit(c.encode_utf8(&mut utf8));
            i = next;
            literal_start = next;
        } else {
            // Skip the '&' and any name run after it: none of it can start a
            // reference, and skipping keeps the scan linear.
            i += 1;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
        }
    }
    if literal_start < b.len() {
        emit(&input[literal_start..]);
    }
}

/// Try to read a character reference starting at the `&` at `b[at]`.
/// Returns the decoded char and the index just past the reference.
fn reference_at(b: &[u8], at: usize) -> Option<(char, usize)> {
    let mut i = at + 1;
    if b.get(i) == Some(&b'#') {
        i += 1;
        let hex = matches!(b.get(i), Some(b'x' | b'X'));
        if hex {
            i += 1;
        }
        let digits_start = i;
        let mut value: u32 = 0;
        while let Some(&d) = b.get(i) {
            let digit = match (hex, d) {
                (_, b'0'..=b'9') => u32::from(d - b'0'),
                (true, b'a'..=b'f') => u32::from(d - b'a' + 10),
                (true, b'A'..=b'F') => u32::from(d - b'A' + 10),
                _ => break,
            };
            let radix = if hex { 16 } else { 10 };
            // Saturate just above the Unicode range; the exact value no longer matters.
            value = value.saturating_mul(radix).saturating_add(digit).min(0x11_0000);
            i += 1;
        }
        if i == digits_start {
            return None;
        }
        if b.get(i) == Some(&b';') {
            i += 1;
        }
        return Some((numeric_char(value), i));
    }

    let name_start = i;
    while i < b.len() && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == name_start {
        return None;
    }
    let name = &b[name_start..i];
    if b.get(i) == Some(&b';') {
        if let Some(c) = lookup_entity(name) {
            return Some((c, i + 1));
        }
    }
    // Legacy references that browsers also accept without the semicolon,
    // matched as a prefix of the name run ("&ampx" reads as "&x").
    LEGACY_NO_SEMICOLON
        .iter()
        .find(|(legacy, _)| name.starts_with(legacy.as_bytes()))
        .map(|&(legacy, c)| (c, name_start + legacy.len()))
}

/// Map a numeric reference value to the char a browser would show.
fn numeric_char(value: u32) -> char {
    match value {
        0 | 0xD800..=0xDFFF => REPLACEMENT,
        0x80..=0x9F => {
            let mapped = WINDOWS_1252_C1[(value - 0x80) as usize];
            if mapped == '\0' {
                char::from_u32(value).unwrap_or(REPLACEMENT)
            } else {
                mapped
            }
        }
        _ => char::from_u32(value).unwrap_or(REPLACEMENT),
    }
}

fn lookup_entity(name: &[u8]) -> Option<char> {
    ENTITIES.binary_search_by(|(candidate, _)| candidate.as_bytes().cmp(name)).ok().map(|idx| ENTITIES[idx].1)
}

/// References browsers decode even when the terminating `;` is missing.
const LEGACY_NO_SEMICOLON: [(&str, char); 9] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("nbsp", '\u{A0}'),
    ("AMP", '&'),
    ("LT", '<'),
    ("GT", '>'),
    ("QUOT", '"'),
];

/// Windows-1252 meaning of bytes 0x80..=0x9F; `'\0'` marks bytes it leaves undefined.
/// One row per eight bytes.
#[rustfmt::skip]
const WINDOWS_1252_C1: [char; 32] = [
    '\u{20AC}', '\0', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\0', '\u{17D}', '\0',
    '\0', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\0', '\u{17E}', '\u{178}',
];

/// Named references: the complete HTML 4 set plus common HTML5 additions.
/// Sorted by byte order of the name so lookups can binary-search.
const ENTITIES: &[(&str, char)] = &[
    ("AElig", '\u{C6}'),
    ("AMP", '\u{26}'),
    ("Aacute", '\u{C1}'),
    ("Abreve", '\u{102}'),
    ("Acirc", '\u{C2}'),
    ("Agrave", '\u{C0}'),
    ("Alpha", '\u{391}'),
    ("Amacr", '\u{100}'),
    ("Aogon", '\u{104}'),
    ("Aring", '\u{C5}'),
    ("Atilde", '\u{C3}'),
    ("Auml", '\u{C4}'),
    ("Beta", '\u{392}'),
    ("COPY", '\u{A9}'),
    ("Cacute", '\u{106}'),
    ("Ccaron", '\u{10C}'),
    ("Ccedil", '\u{C7}'),
    ("Chi", '\u{3A7}'),
    ("CloseCurlyDoubleQuote", '\u{201D}'),
    ("CloseCurlyQuote", '\u{2019}'),
    ("Dagger", '\u{2021}'),
    ("Dcaron", '\u{10E}'),
    ("Delta", '\u{394}'),
    ("Dstrok", '\u{110}'),
    ("ETH", '\u{D0}'),
    ("Eacute", '\u{C9}'),
    ("Ecaron", '\u{11A}'),
    ("Ecirc", '\u{CA}'),
    ("Egrave", '\u{C8}'),
    ("Emacr", '\u{112}'),
    ("Eogon", '\u{118}'),
    ("Epsilon", '\u{395}'),
    ("Eta", '\u{397}'),
    ("Euml", '\u{CB}'),
    ("GT", '\u{3E}'),
    ("Gamma", '\u{393}'),
    ("Gbreve", '\u{11E}'),
    ("Hat", '\u{5E}'),
    ("Iacute", '\u{CD}'),
    ("Icirc", '\u{CE}'),
    ("Idot", '\u{130}'),
    ("Igrave", '\u{CC}'),
    ("Imacr", '\u{12A}'),
    ("Iota", '\u{399}'),
    ("Iuml", '\u{CF}'),
    ("Kappa", '\u{39A}'),
    ("LT", '\u{3C}'),
    ("Lambda", '\u{39B}'),
    ("Leftarrow", '\u{21D0}'),
    ("Lstrok", '\u{141}'),
    ("MediumSpace", '\u{205F}'),
    ("Mu", '\u{39C}'),
    ("Nacute", '\u{143}'),
    ("Ncaron", '\u{147}'),
    ("NewLine", '\u{A}'),
    ("NoBreak", '\u{2060}'),
    ("NonBreakingSpace", '\u{A0}'),
    ("NotEqual", '\u{2260}'),
    ("Ntilde", '\u{D1}'),
    ("Nu", '\u{39D}'),
    ("OElig", '\u{152}'),
    ("Oacute", '\u{D3}'),
    ("Ocirc", '\u{D4}'),
    ("Odblac", '\u{150}'),
    ("Ograve", '\u{D2}'),
    ("Omacr", '\u{14C}'),
    ("Omega", '\u{3A9}'),
    ("Omicron", '\u{39F}'),
    ("OpenCurlyDoubleQuote", '\u{201C}'),
    ("OpenCurlyQuote", '\u{2018}'),
    ("Oslash", '\u{D8}'),
    ("Otilde", '\u{D5}'),
    ("Ouml", '\u{D6}'),
    ("Phi", '\u{3A6}'),
    ("Pi", '\u{3A0}'),
    ("Prime", '\u{2033}'),
    ("Psi", '\u{3A8}'),
    ("QUOT", '\u{22}'),
    ("REG", '\u{AE}'),
    ("Rcaron", '\u{158}'),
    ("Rho", '\u{3A1}'),
    ("Rightarrow", '\u{21D2}'),
    ("Sacute", '\u{15A}'),
    ("Scaron", '\u{160}'),
    ("Scedil", '\u{15E}'),
    ("Sigma", '\u{3A3}'),
    ("THORN", '\u{DE}'),
    ("TRADE", '\u{2122}'),
    ("Tab", '\u{9}'),
    ("Tau", '\u{3A4}'),
    ("Tcaron", '\u{164}'),
    ("Theta", '\u{398}'),
    ("Uacute", '\u{DA}'),
    ("Ucirc", '\u{DB}'),
    ("Udblac", '\u{170}'),
    ("Ugrave", '\u{D9}'),
    ("Umacr", '\u{16A}'),
    ("Upsilon", '\u{3A5}'),
    ("Uring", '\u{16E}'),
    ("Uuml", '\u{DC}'),
    ("Xi", '\u{39E}'),
    ("Yacute", '\u{DD}'),
    ("Yuml", '\u{178}'),
    ("Zacute", '\u{179}'),
    ("Zcaron", '\u{17D}'),
    ("Zdot", '\u{17B}'),
    ("ZeroWidthSpace", '\u{200B}'),
    ("Zeta", '\u{396}'),
    ("aacute", '\u{E1}'),
    ("abreve", '\u{103}'),
    ("acirc", '\u{E2}'),
    ("acute", '\u{B4}'),
    ("aelig", '\u{E6}'),
    ("agrave", '\u{E0}'),
    ("alefsym", '\u{2135}'),
    ("alpha", '\u{3B1}'),
    ("amacr", '\u{101}'),
    ("amp", '\u{26}'),
    ("and", '\u{2227}'),
    ("ang", '\u{2220}'),
    ("aogon", '\u{105}'),
    ("apos", '\u{27}'),
    ("approx", '\u{2248}'),
    ("aring", '\u{E5}'),
    ("ast", '\u{2A}'),
    ("asymp", '\u{2248}'),
    ("atilde", '\u{E3}'),
    ("auml", '\u{E4}'),
    ("bdquo", '\u{201E}'),
    ("beta", '\u{3B2}'),
    ("bigstar", '\u{2605}'),
    ("brvbar", '\u{A6}'),
    ("bsol", '\u{5C}'),
    ("bull", '\u{2022}'),
    ("bullet", '\u{2022}'),
    ("cacute", '\u{107}'),
    ("cap", '\u{2229}'),
    ("caret", '\u{2041}'),
    ("ccaron", '\u{10D}'),
    ("ccedil", '\u{E7}'),
    ("cedil", '\u{B8}'),
    ("cent", '\u{A2}'),
    ("centerdot", '\u{B7}'),
    ("check", '\u{2713}'),
    ("checkmark", '\u{2713}'),
    ("chi", '\u{3C7}'),
    ("circ", '\u{2C6}'),
    ("clubs", '\u{2663}'),
    ("colon", '\u{3A}'),
    ("comma", '\u{2C}'),
    ("commat", '\u{40}'),
    ("cong", '\u{2245}'),
    ("copy", '\u{A9}'),
    ("crarr", '\u{21B5}'),
    ("cross", '\u{2717}'),
    ("cup", '\u{222A}'),
    ("curren", '\u{A4}'),
    ("dArr", '\u{21D3}'),
    ("dagger", '\u{2020}'),
    ("darr", '\u{2193}'),
    ("dash", '\u{2010}'),
    ("dcaron", '\u{10F}'),
    ("ddagger", '\u{2021}'),
    ("deg", '\u{B0}'),
    ("delta", '\u{3B4}'),
    ("diams", '\u{2666}'),
    ("div", '\u{F7}'),
    ("divide", '\u{F7}'),
    ("dollar", '\u{24}'),
    ("downarrow", '\u{2193}'),
    ("dstrok", '\u{111}'),
    ("eacute", '\u{E9}'),
    ("ecaron", '\u{11B}'),
    ("ecirc", '\u{EA}'),
    ("egrave", '\u{E8}'),
    ("emacr", '\u{113}'),
    ("empty", '\u{2205}'),
    ("emsp", '\u{2003}'),
    ("emsp13", '\u{2004}'),
    ("emsp14", '\u{2005}'),
    ("ensp", '\u{2002}'),
    ("eogon", '\u{119}'),
    ("epsilon", '\u{3B5}'),
    ("equals", '\u{3D}'),
    ("equiv", '\u{2261}'),
    ("eta", '\u{3B7}'),
    ("eth", '\u{F0}'),
    ("euml", '\u{EB}'),
    ("euro", '\u{20AC}'),
    ("excl", '\u{21}'),
    ("exist", '\u{2203}'),
    ("female", '\u{2640}'),
    ("flat", '\u{266D}'),
    ("fnof", '\u{192}'),
    ("forall", '\u{2200}'),
    ("frac12", '\u{BD}'),
    ("frac13", '\u{2153}'),
    ("frac14", '\u{BC}'),
    ("frac15", '\u{2155}'),
    ("frac16", '\u{2159}'),
    ("frac18", '\u{215B}'),
    ("frac23", '\u{2154}'),
    ("frac25", '\u{2156}'),
    ("frac34", '\u{BE}'),
    ("frac35", '\u{2157}'),
    ("frac38", '\u{215C}'),
    ("frac45", '\u{2158}'),
    ("frac56", '\u{215A}'),
    ("frac58", '\u{215D}'),
    ("frac78", '\u{215E}'),
    ("frasl", '\u{2044}'),
    ("gamma", '\u{3B3}'),
    ("gbreve", '\u{11F}'),
    ("ge", '\u{2265}'),
    ("geq", '\u{2265}'),
    ("grave", '\u{60}'),
    ("gt", '\u{3E}'),
    ("hArr", '\u{21D4}'),
    ("hairsp", '\u{200A}'),
    ("half", '\u{BD}'),
    ("harr", '\u{2194}'),
    ("hearts", '\u{2665}'),
    ("hellip", '\u{2026}'),
    ("horbar", '\u{2015}'),
    ("hyphen", '\u{2010}'),
    ("iacute", '\u{ED}'),
    ("icirc", '\u{EE}'),
    ("iexcl", '\u{A1}'),
    ("igrave", '\u{EC}'),
    ("imacr", '\u{12B}'),
    ("image", '\u{2111}'),
    ("imath", '\u{131}'),
    ("incare", '\u{2105}'),
    ("infin", '\u{221E}'),
    ("inodot", '\u{131}'),
    ("int", '\u{222B}'),
    ("iota", '\u{3B9}'),
    ("iquest", '\u{BF}'),
    ("isin", '\u{2208}'),
    ("iuml", '\u{EF}'),
    ("kappa", '\u{3BA}'),
    ("lArr", '\u{21D0}'),
    ("lambda", '\u{3BB}'),
    ("lang", '\u{27E8}'),
    ("laquo", '\u{AB}'),
    ("larr", '\u{2190}'),
    ("lbrace", '\u{7B}'),
    ("lbrack", '\u{5B}'),
    ("lceil", '\u{2308}'),
    ("lcub", '\u{7B}'),
    ("ldquo", '\u{201C}'),
    ("ldquor", '\u{201E}'),
    ("le", '\u{2264}'),
    ("leftarrow", '\u{2190}'),
    ("leftrightarrow", '\u{2194}'),
    ("leq", '\u{2264}'),
    ("lfloor", '\u{230A}'),
    ("lowast", '\u{2217}'),
    ("lowbar", '\u{5F}'),
    ("loz", '\u{25CA}'),
    ("lpar", '\u{28}'),
    ("lrm", '\u{200E}'),
    ("lsaquo", '\u{2039}'),
    ("lsqb", '\u{5B}'),
    ("lsquo", '\u{2018}'),
    ("lsquor", '\u{201A}'),
    ("lstrok", '\u{142}'),
    ("lt", '\u{3C}'),
    ("macr", '\u{AF}'),
    ("male", '\u{2642}'),
    ("mdash", '\u{2014}'),
    ("micro", '\u{B5}'),
    ("midast", '\u{2A}'),
    ("middot", '\u{B7}'),
    ("minus", '\u{2212}'),
    ("mldr", '\u{2026}'),
    ("mu", '\u{3BC}'),
    ("nabla", '\u{2207}'),
    ("nacute", '\u{144}'),
    ("natural", '\u{266E}'),
    ("nbsp", '\u{A0}'),
    ("ncaron", '\u{148}'),
    ("ndash", '\u{2013}'),
    ("ne", '\u{2260}'),
    ("ni", '\u{220B}'),
    ("nldr", '\u{2025}'),
    ("not", '\u{AC}'),
    ("notin", '\u{2209}'),
    ("nsub", '\u{2284}'),
    ("ntilde", '\u{F1}'),
    ("nu", '\u{3BD}'),
    ("num", '\u{23}'),
    ("numero", '\u{2116}'),
    ("numsp", '\u{2007}'),
    ("oacute", '\u{F3}'),
    ("ocirc", '\u{F4}'),
    ("odblac", '\u{151}'),
    ("oelig", '\u{153}'),
    ("ograve", '\u{F2}'),
    ("ohm", '\u{3A9}'),
    ("oline", '\u{203E}'),
    ("omacr", '\u{14D}'),
    ("omega", '\u{3C9}'),
    ("omicron", '\u{3BF}'),
    ("oplus", '\u{2295}'),
    ("or", '\u{2228}'),
    ("ordf", '\u{AA}'),
    ("ordm", '\u{BA}'),
    ("oslash", '\u{F8}'),
    ("otilde", '\u{F5}'),
    ("otimes", '\u{2297}'),
    ("ouml", '\u{F6}'),
    ("para", '\u{B6}'),
    ("part", '\u{2202}'),
    ("percnt", '\u{25}'),
    ("period", '\u{2E}'),
    ("permil", '\u{2030}'),
    ("perp", '\u{22A5}'),
    ("phi", '\u{3C6}'),
    ("phone", '\u{260E}'),
    ("pi", '\u{3C0}'),
    ("piv", '\u{3D6}'),
    ("plus", '\u{2B}'),
    ("plusmn", '\u{B1}'),
    ("pm", '\u{B1}'),
    ("pound", '\u{A3}'),
    ("prime", '\u{2032}'),
    ("prod", '\u{220F}'),
    ("prop", '\u{221D}'),
    ("psi", '\u{3C8}'),
    ("puncsp", '\u{2008}'),
    ("quest", '\u{3F}'),
    ("quot", '\u{22}'),
    ("rArr", '\u{21D2}'),
    ("radic", '\u{221A}'),
    ("rang", '\u{27E9}'),
    ("raquo", '\u{BB}'),
    ("rarr", '\u{2192}'),
    ("rbrace", '\u{7D}'),
    ("rbrack", '\u{5D}'),
    ("rcaron", '\u{159}'),
    ("rceil", '\u{2309}'),
    ("rcub", '\u{7D}'),
    ("rdquo", '\u{201D}'),
    ("rdquor", '\u{201D}'),
    ("real", '\u{211C}'),
    ("reg", '\u{AE}'),
    ("rfloor", '\u{230B}'),
    ("rho", '\u{3C1}'),
    ("rightarrow", '\u{2192}'),
    ("rlm", '\u{200F}'),
    ("rpar", '\u{29}'),
    ("rsaquo", '\u{203A}'),
    ("rsqb", '\u{5D}'),
    ("rsquo", '\u{2019}'),
    ("rsquor", '\u{2019}'),
    ("sacute", '\u{15B}'),
    ("sbquo", '\u{201A}'),
    ("scaron", '\u{161}'),
    ("scedil", '\u{15F}'),
    ("sdot", '\u{22C5}'),
    ("sect", '\u{A7}'),
    ("semi", '\u{3B}'),
    ("setminus", '\u{2216}'),
    ("sharp", '\u{266F}'),
    ("shy", '\u{AD}'),
    ("sigma", '\u{3C3}'),
    ("sigmaf", '\u{3C2}'),
    ("sim", '\u{223C}'),
    ("sol", '\u{2F}'),
    ("spades", '\u{2660}'),
    ("star", '\u{2606}'),
    ("starf", '\u{2605}'),
    ("sub", '\u{2282}'),
    ("sube", '\u{2286}'),
    ("sum", '\u{2211}'),
    ("sup", '\u{2283}'),
    ("sup1", '\u{B9}'),
    ("sup2", '\u{B2}'),
    ("sup3", '\u{B3}'),
    ("supe", '\u{2287}'),
    ("szlig", '\u{DF}'),
    ("tau", '\u{3C4}'),
    ("tcaron", '\u{165}'),
    ("there4", '\u{2234}'),
    ("theta", '\u{3B8}'),
    ("thetasym", '\u{3D1}'),
    ("thinsp", '\u{2009}'),
    ("thorn", '\u{FE}'),
    ("tilde", '\u{2DC}'),
    ("times", '\u{D7}'),
    ("trade", '\u{2122}'),
    ("uArr", '\u{21D1}'),
    ("uacute", '\u{FA}'),
    ("uarr", '\u{2191}'),
    ("ucirc", '\u{FB}'),
    ("udblac", '\u{171}'),
    ("ugrave", '\u{F9}'),
    ("umacr", '\u{16B}'),
    ("uml", '\u{A8}'),
    ("uparrow", '\u{2191}'),
    ("upsih", '\u{3D2}'),
    ("upsilon", '\u{3C5}'),
    ("uring", '\u{16F}'),
    ("uuml", '\u{FC}'),
    ("verbar", '\u{7C}'),
    ("vert", '\u{7C}'),
    ("weierp", '\u{2118}'),
    ("xi", '\u{3BE}'),
    ("yacute", '\u{FD}'),
    ("yen", '\u{A5}'),
    ("yuml", '\u{FF}'),
    ("zacute", '\u{17A}'),
    ("zcaron", '\u{17E}'),
    ("zdot", '\u{17C}'),
    ("zeta", '\u{3B6}'),
    ("zwj", '\u{200D}'),
    ("zwnj", '\u{200C}'),
];

// ---------------------------------------------------------------------------
// Output assembly
// ---------------------------------------------------------------------------

/// How whitespace inside a text run is treated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ws {
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
struct Out {
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
    seq: super::clean::Seq,
}

impl Out {
    fn with_capacity(capacity: usize) -> Self {
        Out {
            buf: String::with_capacity(capacity),
            newlines: 0,
            space: false,
            indent: String::new(),
            after_cr: false,
            seq: super::clean::Seq::Text,
        }
    }

    /// Require at least `lines` line breaks (1 = new line, 2 = blank line).
    fn block_break(&mut self, lines: u8) {
        self.newlines = self.newlines.max(lines);
        self.indent.clear();
        self.after_cr = false;
    }

    /// One more line break (`<br>`, or a newline in preserved text), capped at a blank line.
    fn line_break(&mut self) {
        self.newlines = (self.newlines + 1).min(2);
        self.indent.clear();
    }

    fn soft_space(&mut self) {
        self.space = true;
    }

    fn text(&mut self, s: &str, ws: Ws) {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            // A run of visible ASCII, with single spaces between visible chars, is copied in one
            // go: its first char owes what any visible char owes, and in every mode a lone space
            // before a visible char comes out as that one space.
            if is_visible_ascii(b[i]) && self.seq == super::clean::Seq::Text {
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
            c if super::clean::is_unsafe(c) => {}
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

    fn finish(self) -> String {
        self.buf
    }
}

// ---------------------------------------------------------------------------
// Markup scanning
// ---------------------------------------------------------------------------

/// True if some `<` could open a tag, comment, doctype or processing instruction.
fn has_markup(b: &[u8]) -> bool {
    memchr::memchr_iter(b'<', b)
        .any(|i| b.get(i + 1).is_some_and(|&c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?')))
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

fn is_html_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0C')
}

/// First index `>= from` where `needle` occurs in `hay`.
fn find_bytes(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// Index just past the next `>` at or after `from`, or the end of input.
fn past_next_gt(b: &[u8], from: usize) -> usize {
    find_bytes(b, from, b">").map_or(b.len(), |p| p + 1)
}

/// End of a tag name starting at `from`.
fn tag_name_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < b.len() && !is_html_space(b[i]) && b[i] != b'/' && b[i] != b'>' {
        i += 1;
    }
    i
}

/// Skip the attribute part of a tag, starting right after its name.
/// Returns the index just past the closing `>` and whether the tag ended in
/// `/>`, or `None` if the tag (or a quoted value in it) never closes.
fn skip_attributes(b: &[u8], from: usize) -> Option<(usize, bool)> {
    let mut i = from;
    let mut self_closing = false;
    loop {
        match *b.get(i)? {
            b'>' => return Some((i + 1, self_closing)),
            b'/' => {
                self_closing = true;
                i += 1;
            }
            b'=' => {
                self_closing = false;
                i += 1;
                while b.get(i).is_some_and(|&c| is_html_space(c)) {
                    i += 1;
                }
                if let Some(&quote @ (b'"' | b'\'')) = b.get(i) {
                    let close = find_bytes(b, i + 1, &[quote])?;
                    i = close + 1;
                }
                // An unquoted value simply continues through the main loop.
            }
            _ => {
                self_closing = false;
                i += 1;
            }
        }
    }
}

/// One piece of markup recognised at a `<`.
enum Token {
    Start {
        name: (usize, usize),
        self_closing: bool,
    },
    End {
        name: (usize, usize),
    },
    /// CDATA section content (byte range), kept as literal text.
    Cdata(usize, usize),
    /// Comment, doctype, processing instruction, bogus or unterminated markup.
    Ignored,
}

/// Recognise markup at `b[at] == b'<'`. Returns the token and the index
/// just past it, or `None` if this `<` is ordinary text.
fn read_markup(b: &[u8], at: usize) -> Option<(Token, usize)> {
    let rest = b.get(at + 1..).unwrap_or(&[]);
    match *rest.first()? {
        c if c.is_ascii_alphabetic() => {
            let name_end = tag_name_end(b, at + 1);
            Some(match skip_attributes(b, name_end) {
                Some((end, self_closing)) => (Token::Start { name: (at + 1, name_end), self_closing }, end),
                None => (Token::Ignored, b.len()),
            })
        }
        b'/' => match *rest.get(1)? {
            c if c.is_ascii_alphabetic() => {
                let name_end = tag_name_end(b, at + 2);
                Some(match skip_attributes(b, name_end) {
                    Some((end, _)) => (Token::End { name: (at + 2, name_end) }, end),
                    None => (Token::Ignored, b.len()),
                })
            }
            b'>' => Some((Token::Ignored, at + 3)),
            _ => Some((Token::Ignored, past_next_gt(b, at + 2))),
        },
        b'!' => {
            let after = &rest[1..];
            if after.starts_with(b"--") {
                let body = at + 4;
                let end = if b.get(body) == Some(&b'>') {
                    body + 1
                } else if b.get(body..).is_some_and(|s| s.starts_with(b"->")) {
                    body + 2
                } else {
                    find_bytes(b, body, b"-->").map_or(b.len(), |p| p + 3)
                };
                Some((Token::Ignored, end))
            } else if after.starts_with(b"[CDATA[") {
                let body = at + 9;
                Some(match find_bytes(b, body, b"]]>") {
                    Some(p) => (Token::Cdata(body, p), p + 3),
                    None => (Token::Cdata(body, b.len()), b.len()),
                })
            } else {
                Some((Token::Ignored, past_next_gt(b, at + 2)))
            }
        }
        b'?' => Some((Token::Ignored, past_next_gt(b, at + 2))),
        _ => None,
    }
}

/// Find the end tag `</name` closing a raw-text element whose content starts
/// at `from`. Returns (content end, index just past the end tag).
fn raw_text_end(b: &[u8], from: usize, name: &[u8]) -> (usize, usize) {
    let mut search = from;
    while let Some(p) = find_bytes(b, search, b"</") {
        let name_start = p + 2;
        let name_end = name_start + name.len();
        let name_matches = b.get(name_start..name_end).is_some_and(|s| s.eq_ignore_ascii_case(name));
        let boundary = b.get(name_end).is_none_or(|&c| is_html_space(c) || c == b'/' || c == b'>');
        if name_matches && boundary {
            let after = skip_attributes(b, name_end).map_or(b.len(), |(end, _)| end);
            return (p, after);
        }
        search = name_start;
    }
    (b.len(), b.len())
}

/// Longest tag name that any classification below cares about, with margin.
const MAX_NAME: usize = 12;

/// Lower-cased copy of a tag name, or `None` if it is too long to be one we know.
fn lower_name(raw: &[u8]) -> Option<([u8; MAX_NAME], usize)> {
    if raw.len() > MAX_NAME {
        return None;
    }
    let mut buf = [0u8; MAX_NAME];
    for (dst, src) in buf.iter_mut().zip(raw) {
        *dst = src.to_ascii_lowercase();
    }
    Some((buf, raw.len()))
}

/// Elements whose content is raw text (not parsed as markup).
enum RawText {
    /// Content is invisible and dropped.
    Hidden,
    /// Content is visible text with character references (`textarea`).
    Visible,
}

fn raw_text_kind(name: &[u8]) -> Option<RawText> {
    match name {
        b"script" | b"style" | b"iframe" | b"noscript" | b"noembed" | b"noframes" | b"title" => Some(RawText::Hidden),
        b"textarea" => Some(RawText::Visible),
        _ => None,
    }
}

/// Elements whose whole subtree (parsed as markup) is invisible.
fn hidden_subtree(name: &[u8]) -> Option<&'static [u8]> {
    Some(match name {
        b"head" => b"head",
        b"template" => b"template",
        b"svg" => b"svg",
        b"object" => b"object",
        b"applet" => b"applet",
        b"video" => b"video",
        b"audio" => b"audio",
        b"canvas" => b"canvas",
        b"frameset" => b"frameset",
        _ => return None,
    })
}

/// Layout effect of an element boundary.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Inline,
    Cell,
    Line,
    Paragraph,
}

fn layout_of(name: &[u8]) -> Layout {
    match name {
        b"p" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"blockquote" | b"pre" | b"listing" | b"hr"
        | b"table" | b"figure" | b"dl" | b"address" | b"article" | b"section" | b"aside" | b"header" | b"footer"
        | b"nav" | b"main" | b"fieldset" | b"form" | b"details" | b"hgroup" => Layout::Paragraph,
        b"div" | b"li" | b"dt" | b"dd" | b"tr" | b"thead" | b"tbody" | b"tfoot" | b"caption" | b"figcaption"
        | b"summary" | b"legend" | b"option" | b"optgroup" | b"center" | b"body" | b"html" | b"dialog" | b"search"
        | b"dir" => Layout::Line,
        b"td" | b"th" => Layout::Cell,
        _ => Layout::Inline,
    }
}

fn is_list(name: &[u8]) -> bool {
    matches!(name, b"ul" | b"ol" | b"menu")
}

fn is_preformatted(name: &[u8]) -> bool {
    matches!(name, b"pre" | b"listing")
}

/// Single forward pass over markup, tracking only counters for open elements.
struct Walker<'a> {
    src: &'a str,
    out: Out,
    /// Open `ul`/`ol`/`menu` elements; nested lists get line rather than paragraph breaks.
    list_depth: usize,
    /// Open `pre`/`listing` elements.
    pre_depth: usize,
    /// Inside a hidden subtree: the element name and how many of it are open.
    skip: Option<(&'static [u8], usize)>,
}

impl Walker<'_> {
    fn run(&mut self) {
        let src = self.src;
        let b = src.as_bytes();
        let mut text_start = 0;
        let mut i = 0;
        while i < b.len() {
            match memchr::memchr(b'<', &b[i..]) {
                Some(off) => i += off,
                None => break,
            }
            let Some((token, mut next)) = read_markup(b, i) else {
                i += 1;
                continue;
            };
            self.flow_text(&src[text_start..i]);
            match token {
                Token::Start { name, self_closing } => {
                    let raw = &b[name.0..name.1];
                    let lowered = lower_name(raw);
                    let name = lowered.as_ref().map_or(&[][..], |(buf, len)| &buf[..*len]);
                    self.start_tag(name, self_closing);
                    if !self_closing {
                        if let Some(kind) = raw_text_kind(name) {
                            let (content_end, after) = raw_text_end(b, next, name);
                            if matches!(kind, RawText::Visible) {
                                self.flow_text(&src[next..content_end]);
                                self.out.soft_space();
                            }
                            next = after;
                        }
                    }
                }
                Token::End { name } => {
                    let raw = &b[name.0..name.1];
                    if let Some((buf, len)) = lower_name(raw) {
                        self.end_tag(&buf[..len]);
                    }
                }
                Token::Cdata(start, end) => {
                    if self.skip.is_none() {
                        let ws = self.ws();
                        self.out.text(&src[start..end], ws);
                    }
                }
                Token::Ignored => {}
            }
            i = next;
            text_start = next;
        }
        self.flow_text(&src[text_start..]);
    }

    fn ws(&self) -> Ws {
        if self.pre_depth > 0 {
            Ws::Pre
        } else {
            Ws::Collapse
        }
    }

    /// Ordinary text between tags: decode references and append unless hidden.
    fn flow_text(&mut self, text: &str) {
        if text.is_empty() || self.skip.is_some() {
            return;
        }
        let ws = self.ws();
        let out = &mut self.out;
        decode_each(text, &mut |piece| out.text(piece, ws));
    }

    fn start_tag(&mut self, name: &[u8], self_closing: bool) {
        if let Some((skipped, depth)) = &mut self.skip {
            if name == *skipped && !self_closing {
                *depth += 1;
            } else if *skipped == b"head" && name == b"body" {
                // A body start tag implicitly closes an unterminated head.
                self.skip = None;
                self.out.block_break(1);
            }
            return;
        }
        if !self_closing {
            if let Some(hidden) = hidden_subtree(name) {
                self.skip = Some((hidden, 1));
                return;
            }
        }
        if name == b"br" {
            self.out.line_break();
        } else if is_list(name) {
            self.out.block_break(if self.list_depth > 0 { 1 } else { 2 });
            if !self_closing {
                self.list_depth += 1;
            }
        } else {
            self.apply_layout(layout_of(name));
            if is_preformatted(name) && !self_closing {
                self.pre_depth += 1;
            }
        }
    }

    fn end_tag(&mut self, name: &[u8]) {
        if let Some((skipped, depth)) = &mut self.skip {
            if name == *skipped {
                *depth -= 1;
                if *depth == 0 {
                    self.skip = None;
                }
            }
            return;
        }
        if name == b"br" {
            // Browsers treat a stray </br> as <br>.
            self.out.line_break();
        } else if is_list(name) {
            self.list_depth = self.list_depth.saturating_sub(1);
            self.out.block_break(if self.list_depth > 0 { 1 } else { 2 });
        } else {
            if is_preformatted(name) {
                self.pre_depth = self.pre_depth.saturating_sub(1);
            }
            self.apply_layout(layout_of(name));
        }
    }

    fn apply_layout(&mut self, layout: Layout) {
        match layout {
            Layout::Inline => {}
            Layout::Cell => self.out.soft_space(),
            Layout::Line => self.out.block_break(1),
            Layout::Paragraph => self.out.block_break(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(input: &str) -> String {
        html_to_text(input)
    }

    /// Invariants every output must satisfy, whatever the input.
    fn assert_normalised(out: &str) {
        assert_eq!(out, out.trim(), "result must be trimmed: {out:?}");
        assert!(!out.contains("\n\n\n"), "more than one blank line: {out:?}");
        for line in out.lines() {
            assert_eq!(line, line.trim_end(), "line not trimmed: {line:?}");
        }
    }

    #[test]
    fn whitespace_anywhere_in_long_runs_is_collapsed() {
        // Runs of plain ASCII are copied block by block; breaks at every offset around a block
        // edge must still collapse, in flow text, in markup-free text and inside <pre>.
        for at in 0..40 {
            for ws in ["  ", "\t", "\n", " \n ", "\u{A0}", " é "] {
                let words = format!("{}{ws}{}", "x y".repeat(at / 3 + 1).get(..at).unwrap_or(""), "z w".repeat(8));
                let collapsed = words.split_whitespace().collect::<Vec<_>>().join(" ");
                assert_eq!(t(&format!("<p>{words}</p>")), collapsed, "{words:?}");
                let lines: Vec<String> =
                    words.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
                assert_eq!(t(&words), lines.join("\n").trim(), "{words:?}");
                let pre = t(&format!("<pre>{words}</pre>"));
                let kept: Vec<&str> = words.lines().map(str::trim_end).collect();
                assert_eq!(pre, kept.join("\n").replace('\u{A0}', " ").trim(), "{words:?}");
            }
        }
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_not_text() {
        let esc = "\u{1b}[31mMerah\u{1b}[0m \u{7}Korea\u{0}\u{9b}1m Utara\u{202E}kiri\u{2066}x\u{2069}";
        let want = "Merah Korea Utarakirix";
        assert_eq!(t(esc), want, "markup-free text");
        assert_eq!(t(&format!("<p>{esc}</p>")), want, "flow text");
        assert_eq!(t(&format!("<pre>{esc}</pre>")), want, "preformatted text");
        assert_eq!(t("<b>a&#27;[2J&#7;b&#x81;c&#x202e;d&#x9B;</b>"), "abcd›", "references (0x9B is windows-1252)");
        assert_eq!(t("<p>\u{1b}]0;title\u{7}Judul</p><p>\u{1b}[1mTebal\u{1b}[0m teks</p>"), "Judul\n\nTebal teks");
        // Vertical tab and form feed are white space, not nothing.
        assert_eq!(t("a\u{b}b\u{c}c"), "a b c");
        assert_eq!(decode_entities("&#27;"), "\u{1b}", "decoding alone keeps what it decodes");
    }

    #[test]
    fn sample_feed_paragraphs() {
        let input = "<p>Tangerang Selatan, IDN Times - Intelijen Amerika Serikat (AS) ...</p>\
                     <p>Berbicara secara anonim ...</p>";
        assert_eq!(
            t(input),
            "Tangerang Selatan, IDN Times - Intelijen Amerika Serikat (AS) ...\n\n\
             Berbicara secara anonim ..."
        );
    }

    #[test]
    fn attributes_do_not_leak() {
        assert_eq!(t(r#"<div class="center-wrap">x</div>"#), "x");
        assert_eq!(t(r#"<a href="https://e.com/center" title='center'>link</a>"#), "link");
        assert!(!t("<span data-x=center>y</span>").contains("center"));
    }

    #[test]
    fn quoted_attribute_may_contain_gt() {
        assert_eq!(t(r#"<a title="a > b" href='x>y'>link</a> after"#), "link after");
    }

    #[test]
    fn script_dropped_even_with_markup_inside() {
        let input = "<p>a</p><script type=\"text/javascript\">if (a<b) { x = \"</p><p>leak\"; }</script><p>b</p>";
        assert_eq!(t(input), "a\n\nb");
    }

    #[test]
    fn style_dropped_case_insensitive() {
        assert_eq!(t("<STYLE>.center{color:red}</StYlE>Visible"), "Visible");
        assert_eq!(t("x<style>p{}</style >y"), "xy");
    }

    #[test]
    fn other_hidden_elements_dropped() {
        let input = "<noscript>enable js</noscript>\
                     <template><p>tpl</p></template>\
                     <svg><svg><text>inner</text></svg><text>outer</text></svg>\
                     <iframe src=x>frame text</iframe>\
                     <object data=x><p>fallback</p></object>\
                     <p>kept</p>";
        assert_eq!(t(input), "kept");
    }

    #[test]
    fn full_document_head_and_title_dropped() {
        let input = "<!DOCTYPE html><html><head><title>Page title</title>\
                     <meta charset=utf-8><style>body{}</style></head>\
                     <body><h1>Heading</h1><p>Body text</p></body></html>";
        assert_eq!(t(input), "Heading\n\nBody text");
    }

    #[test]
    fn unclosed_head_ends_at_body() {
        assert_eq!(t("<head><meta name=x><body><p>hi</p>"), "hi");
    }

    #[test]
    fn unclosed_script_drops_rest() {
        assert_eq!(t("before<script>var x = 1; <p>never"), "before");
    }

    #[test]
    fn self_closing_hidden_elements_hide_nothing() {
        assert_eq!(t("<svg/>a <script src=x /> b"), "a b");
    }

    #[test]
    fn named_entities() {
        assert_eq!(
            decode_entities("&amp; &lt; &gt; &quot; &apos; &copy; &reg; &trade; &euro; &bull; &middot;"),
            "& < > \" ' © ® ™ € • ·"
        );
        assert_eq!(decode_entities("&ndash;&mdash;&lsquo;&rsquo;&ldquo;&rdquo;&hellip;&laquo;&raquo;"), "–—‘’“”…«»");
        assert_eq!(decode_entities("&Alpha;&omega;&eacute;&Uuml;&szlig;&yuml;"), "ΑωéÜßÿ");
        assert_eq!(decode_entities("&lang;x&rang; &ccaron;&Lstrok;"), "⟨x⟩ čŁ");
    }

    #[test]
    fn numeric_entities() {
        assert_eq!(decode_entities("&#65;&#1234;&#x4F60;&#X597D;&#x1F600;"), "AӒ你好😀");
        assert_eq!(decode_entities("&#0065;&#x000041;"), "AA");
        // Missing semicolon is accepted for numeric references.
        assert_eq!(decode_entities("&#65 &#x42z"), "A Bz");
    }

    #[test]
    fn invalid_numeric_entities_become_replacement() {
        assert_eq!(decode_entities("&#0;"), "\u{FFFD}");
        assert_eq!(decode_entities("&#xD800;&#xDFFF;"), "\u{FFFD}\u{FFFD}");
        assert_eq!(decode_entities("&#x110000;"), "\u{FFFD}");
        assert_eq!(decode_entities("&#99999999999999999999999;"), "\u{FFFD}");
    }

    #[test]
    fn c1_numeric_references_read_as_windows_1252() {
        assert_eq!(decode_entities("&#150;&#151;&#147;x&#148;&#128;"), "–—“x”€");
        assert_eq!(decode_entities("&#x81;"), "\u{81}");
    }

    #[test]
    fn entities_without_semicolon() {
        assert_eq!(decode_entities("a &amp b &lt c &gt d &quot e"), "a & b < c > d \" e");
        assert_eq!(decode_entities("x&nbspy"), "x y");
        assert_eq!(decode_entities("&AMP &LT;"), "& <");
        // Only the classic ones: other names need the semicolon.
        assert_eq!(decode_entities("&copy 2024 &eacute"), "&copy 2024 &eacute");
        // Browsers read the legacy prefix of a longer name.
        assert_eq!(decode_entities("&ampx;"), "&x;");
    }

    #[test]
    fn unknown_and_malformed_entities_kept() {
        assert_eq!(decode_entities("&foo; AT&T & &; &#; &#x; &#xZ;"), "&foo; AT&T & &; &#; &#x; &#xZ;");
        // Names are case-sensitive; a longer unknown name still yields its
        // legacy "amp" prefix, exactly as browsers decode it.
        assert_eq!(decode_entities("&Amp; &ampere;"), "&Amp; &ere;");
        assert_eq!(decode_entities("tail &"), "tail &");
        assert_eq!(decode_entities("q?a=1&b=2"), "q?a=1&b=2");
    }

    #[test]
    fn decode_entities_leaves_markup_alone() {
        assert_eq!(decode_entities("<b>&amp;</b>  x"), "<b>&</b>  x");
    }

    #[test]
    fn entities_in_html_text_and_escaped_markup_stays_text() {
        assert_eq!(t("<p>Fish &amp; Chips &lt;b&gt;</p>"), "Fish & Chips <b>");
        assert_eq!(t("<p>caf&eacute; &#x2014; 5&nbsp;&euro;</p>"), "café — 5 €");
    }

    #[test]
    fn nbsp_is_plain_space_and_collapses() {
        assert_eq!(t("<p>a&nbsp;&nbsp; &#160;b</p>"), "a b");
        assert_eq!(decode_entities("a&nbsp;b&#xA0;c"), "a b c");
        assert_eq!(t("a\u{A0}\u{A0}b"), "a b");
    }

    #[test]
    fn lone_less_than_is_text() {
        assert_eq!(t("a < b"), "a < b");
        assert_eq!(t("x<3"), "x<3");
        assert_eq!(t("<p>a <= b and 3<4, see <></p>"), "a <= b and 3<4, see <>");
        assert_eq!(t("ends with <"), "ends with <");
        assert_eq!(t("<b>bold</b> x<ä>"), "bold x<ä>");
    }

    #[test]
    fn unclosed_tag_dropped_to_end() {
        assert_eq!(t("<p>Hello</p><p class=\"x"), "Hello");
        assert_eq!(t("<p>Hello</p><p class=x"), "Hello");
        assert_eq!(t("Hello <a href=\"x>unterminated quote"), "Hello");
        assert_eq!(t("Hello </p"), "Hello");
    }

    #[test]
    fn comments_removed() {
        assert_eq!(t("a<!-- <p>hidden</p> -->b"), "ab");
        assert_eq!(t("a<!---->b<!-->c<!--->d"), "abcd");
        assert_eq!(t("keep<!-- never closed <p>gone"), "keep");
        assert_eq!(t("<p>x</p><!-- c1 --><!-- c2 --><p>y</p>"), "x\n\ny");
    }

    #[test]
    fn cdata_text_kept_literally() {
        assert_eq!(t("<p><![CDATA[a &amp; <b>not a tag</b>]]> z</p>"), "a &amp; <b>not a tag</b> z");
        assert_eq!(t("x <![CDATA[unterminated"), "x unterminated");
    }

    #[test]
    fn doctype_and_processing_instructions_dropped() {
        assert_eq!(t("<?xml version=\"1.0\"?><!DOCTYPE html><p>hi</p>"), "hi");
        assert_eq!(t("a</ bogus>b</>c"), "abc");
    }

    #[test]
    fn br_and_paragraph_layout() {
        assert_eq!(t("line1<br>line2<BR/>line3<br />line4"), "line1\nline2\nline3\nline4");
        assert_eq!(t("a<br><br>b"), "a\n\nb");
        assert_eq!(t("<p>a<br></p><p>b</p>"), "a\n\nb");
        assert_eq!(t("a</br>b"), "a\nb");
    }

    #[test]
    fn list_items_on_own_lines() {
        assert_eq!(
            t("<p>Intro</p><ul><li>one</li><li>two</li><li>three</ul><p>End</p>"),
            "Intro\n\none\ntwo\nthree\n\nEnd"
        );
        // Unclosed <li> (legal HTML) still splits lines.
        assert_eq!(t("<ol><li>a<li>b</ol>"), "a\nb");
    }

    #[test]
    fn nested_lists() {
        let input = "<ul><li>fruit<ul><li>apple</li><li>pear</li></ul></li><li>veg</li></ul>after";
        assert_eq!(t(input), "fruit\napple\npear\nveg\n\nafter");
    }

    #[test]
    fn headings_blockquote_divs_and_tables() {
        assert_eq!(t("<h2>Title</h2>text<blockquote>quote</blockquote>"), "Title\n\ntext\n\nquote");
        assert_eq!(t("<div>a</div><div>b</div>"), "a\nb");
        assert_eq!(t("<table><tr><th>k</th><th>v</th></tr><tr><td>x</td><td>1</td></tr></table>"), "k v\nx 1");
        assert_eq!(t("<dl><dt>term</dt><dd>def</dd></dl>"), "term\ndef");
        assert_eq!(t("a<hr>b"), "a\n\nb");
    }

    #[test]
    fn inline_tags_do_not_split_words() {
        assert_eq!(t("foo<b>bar</b><i>baz</i> <em>qux</em>"), "foobarbaz qux");
        assert_eq!(t("<span>a</span><span> b</span>"), "a b");
    }

    #[test]
    fn whitespace_collapses_and_lines_trim() {
        assert_eq!(t("<p>  lots \n\t of   \r\n space  </p>\n\n  <p>\n next </p>"), "lots of space\n\nnext");
        assert_eq!(t("  <div>  </div>  <p> </p> "), "");
        assert_eq!(t("<p></p><p></p><p>x</p><p></p><br><br><br><br><p>y</p>"), "x\n\ny");
    }

    #[test]
    fn pre_preserves_whitespace() {
        let input = "<p>code:</p><pre>fn main() {\n    let  x = 1;\n\n\n\n}  </pre><p>done</p>";
        assert_eq!(t(input), "code:\n\nfn main() {\n    let  x = 1;\n\n}\n\ndone");
        assert_eq!(t("<PRE>a\tb</PRE> c   d"), "a\tb\n\nc d");
    }

    #[test]
    fn plain_text_unchanged_apart_from_whitespace() {
        assert_eq!(t("Hello, world."), "Hello, world.");
        assert_eq!(t("  Breaking:   quake   hits   "), "Breaking: quake hits");
        assert_eq!(t("line one  \r\nline two\n\n\n\n  para two"), "line one\nline two\n\npara two");
        assert_eq!(t("Q&amp;A: 2 &lt; 3"), "Q&A: 2 < 3");
        assert_eq!(t(""), "");
    }

    #[test]
    fn emoji_and_rtl_preserved() {
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(t(&format!("<p>{family} 🇮🇩 ok</p>")), format!("{family} 🇮🇩 ok"));
        let arabic = "مرحبا بالعالم";
        let hebrew = "שלום עולם";
        assert_eq!(
            t(&format!("<p dir=\"rtl\">{arabic}</p><div>\u{200F}{hebrew}</div>")),
            format!("{arabic}\n\n\u{200F}{hebrew}")
        );
        assert_eq!(t("<p>日本語<b>テキスト</b></p>"), "日本語テキスト");
    }

    #[test]
    fn images_dropped_without_alt() {
        assert_eq!(
            t(r#"before<img src="https://t.example/pixel.gif" alt="tracking center" width=1 height=1>after"#),
            "beforeafter"
        );
    }

    #[test]
    fn soft_hyphen_removed_for_matching() {
        assert_eq!(t("cen&shy;ter cen\u{AD}ter"), "center center");
    }

    #[test]
    fn textarea_content_is_visible_text() {
        assert_eq!(t("<textarea>1 <b> &amp; 2</textarea>x"), "1 <b> & 2 x");
    }

    #[test]
    fn uppercase_and_odd_tag_syntax() {
        assert_eq!(t("<P CLASS=X>a</P><DIV\n  id=y\n>b</DIV>"), "a\n\nb");
        assert_eq!(t("<p/>x"), "x");
    }

    #[test]
    fn megabyte_input() {
        let para = "<p class=\"c\">Berita hari ini &amp; besok <b>penting</b></p>\n";
        let mut input = String::new();
        while input.len() < 1_000_000 {
            input.push_str(para);
        }
        let count = input.len() / para.len();
        let out = t(&input);
        let expected_para = "Berita hari ini & besok penting";
        assert_eq!(out.split("\n\n").count(), count);
        assert!(out.split("\n\n").all(|p| p == expected_para));

        // Plain text of a megabyte is handled too.
        let plain = "kata ".repeat(200_000);
        assert_eq!(t(&plain).len(), plain.len() - 1);
    }

    #[test]
    fn deep_nesting() {
        let depth = 100_000;
        let mut input = "<div><b>".repeat(depth);
        input.push_str("deep &amp; text");
        input.push_str(&"</b></div>".repeat(depth));
        assert_eq!(t(&input), "deep & text");

        let lists = format!("{}x{}", "<ul><li>".repeat(depth), "</li></ul>".repeat(depth));
        assert_eq!(t(&lists), "x");

        let hidden = format!("a{}b{}c", "<svg>".repeat(depth), "</svg>".repeat(depth));
        assert_eq!(t(&hidden), "ac");
    }

    #[test]
    fn pathological_inputs_complete() {
        let n = 200_000;
        // Many unterminated constructs: each must not rescan the tail.
        assert_eq!(t(&"<a".repeat(n)), "");
        assert_eq!(t(&format!("x{}", "<!--".repeat(n))), "x");
        assert_eq!(t(&format!("x<script>{}", "</scrip".repeat(n))), "x");
        assert_eq!(decode_entities(&"&amp".repeat(n)), "&".repeat(n));
        let ampersands = "&".repeat(n) + &"a".repeat(n);
        assert_eq!(decode_entities(&ampersands), ampersands);
        assert_eq!(t(&"a < ".repeat(n)).len(), 4 * n - 1);
    }

    #[test]
    fn arbitrary_fragments_never_panic() {
        let pieces = [
            "<",
            ">",
            "</",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "&",
            "&#",
            "&#x",
            ";",
            "&amp",
            "\"",
            "'",
            "=",
            "/",
            "<p",
            "</p>",
            "<script>",
            "</script>",
            "<svg>",
            "</svg>",
            "<pre>",
            "</pre>",
            "<ul>",
            "</ul>",
            "<li>",
            "<br>",
            "é",
            "😀",
            "日",
            " ",
            "\n",
            "\r",
            "\t",
            "x",
            "\u{A0}",
            "<head>",
            "<body>",
            "<?",
            "<!x",
            "<textarea>",
            "&eacute;",
            "&#xD800;",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3_000 {
            let mut input = String::new();
            for _ in 0..24 {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                input.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            }
            let out = t(&input);
            assert_normalised(&out);
            let _ = decode_entities(&input);
        }
    }

    #[test]
    fn output_invariants_on_mixed_markup() {
        let input = "  <div>\n <p> a </p>\n\n<br><br><br>\n<p>b <br> </p> <pre>\n  c  \n\n\n</pre> </div>  ";
        let out = t(input);
        assert_normalised(&out);
        assert_eq!(out, "a\n\nb\n\n  c");
    }

    #[test]
    fn entity_table_sorted_and_unique() {
        assert!(ENTITIES.windows(2).all(|w| w[0].0 < w[1].0), "ENTITIES must be strictly sorted");
        assert!(ENTITIES.len() >= 253, "HTML 4 defines 253 entities");
        for (name, c) in ENTITIES {
            assert_eq!(lookup_entity(name.as_bytes()), Some(*c), "{name}");
        }
    }
}
