//! Text normalisation (NFKC, case fold, accent fold) and word tokenisation shared by rule literals and documents.
//!
//! Query literals and document text must go through exactly the same functions here,
//! otherwise a literal could never equal the word it was written to find.

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};
use unicode_segmentation::UnicodeSegmentation;

use super::hash::{in_range, HIGH, ONES};

/// How a field is split into words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Split {
    /// Unicode word segmentation (UAX #29), with every Han ideograph as its own word.
    Words,
    /// Like `Words`, but every word is cut again at any character that is not a letter or digit,
    /// because in a URL `www.example.com` should yield `www`, `example` and `com`.
    Url,
}

/// One word of a text, in both the exact (NFKC only) and the folded form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    pub exact: Box<str>,
    pub folded: Box<str>,
}

/// Applies Unicode NFKC, skipping the work when the text is already known to be normalised;
/// then removes the invisible format characters that would otherwise glue themselves to a word
/// (soft hyphen, zero-width joiner, word joiner, direction marks and embeddings, byte-order
/// mark: `Pope\u{200E} Francis` must match `pope`) and writes typographic apostrophes as `'`
/// (`don’t` is `don't`).
pub(crate) fn nfkc(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    let normalised: String =
        if is_nfkc_quick(text.chars()) == IsNormalized::Yes { text.to_owned() } else { text.nfkc().collect() };
    if !normalised.chars().any(|c| is_invisible(c) || is_apostrophe(c)) {
        return normalised;
    }
    normalised.chars().filter(|&c| !is_invisible(c)).map(|c| if is_apostrophe(c) { '\'' } else { c }).collect()
}

/// Format characters a reader does not see, removed before words are split.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}' | '\u{200D}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Characters used as an apostrophe: right and left single quotation marks, modifier letter
/// apostrophe.
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\u{2019}' | '\u{2018}' | '\u{02BC}')
}

/// Folds text: NFKC, then full lower-casing, then removal of diacritics.
pub(crate) fn fold(text: &str) -> String {
    // Pure ASCII cannot carry accents or compatibility characters, and it is by far the most
    // common case, so it gets a cheap path.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let normalised = nfkc(text);
    let mut lowered = String::with_capacity(normalised.len());
    for c in normalised.chars() {
        lowered.extend(c.to_lowercase());
    }
    let mut stripped = String::with_capacity(lowered.len());
    for c in lowered.nfd() {
        if is_diacritic(c) {
            continue;
        }
        match c {
            'ß' => stripped.push_str("ss"),
            'đ' | 'ð' => stripped.push('d'),
            'ł' | 'ŀ' => stripped.push('l'),
            'ø' => stripped.push('o'),
            'ı' => stripped.push('i'),
            'ħ' => stripped.push('h'),
            'ŧ' => stripped.push('t'),
            'ĸ' => stripped.push('k'),
            'æ' => stripped.push_str("ae"),
            'œ' => stripped.push_str("oe"),
            'þ' => stripped.push_str("th"),
            // Final sigma is only a positional variant of sigma, so both must compare equal.
            'ς' => stripped.push('σ'),
            other => stripped.push(other),
        }
    }
    // Decomposition split Hangul syllables into jamo, which are not marks and so survived;
    // recomposing puts them back together so that Korean text keeps comparing equal.
    stripped.nfc().collect()
}

/// Tells whether a character is a combining accent that folding removes.
///
/// Only the diacritic blocks are listed (plus Arabic harakat and Hebrew points), because
/// combining vowel signs of Indic or Thai scripts are letters in all but name and dropping
/// them would merge unrelated words.
fn is_diacritic(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05C7}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// Tells whether a character is a Han ideograph, which is treated as a word on its own.
pub(crate) fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2A6DF}'
        | '\u{2A700}'..='\u{2EBEF}'
        | '\u{2F800}'..='\u{2FA1F}'
        | '\u{30000}'..='\u{3134F}')
}

/// Calls `emit` with every word of an already NFKC-normalised text, in order.
///
/// The text is cut into chunks at every point where ASCII whitespace is followed by another
/// ASCII character that is not whitespace. No rule of UAX #29 joins across such a point, and
/// none looks across it, so each chunk can be segmented on its own: pure ASCII chunks (nearly
/// all of them in practice) by [`ascii_words`], the others by the general Unicode path. A text
/// that is all ASCII, as most field values are, is one chunk: cutting it would change nothing.
pub(crate) fn for_each_word<'a>(nfkc_text: &'a str, split: Split, mut emit: impl FnMut(&'a str)) {
    let bytes = nfkc_text.as_bytes();
    if bytes.is_ascii() {
        ascii_words(nfkc_text, split, &mut emit);
        return;
    }
    let mut start = 0;
    while start < bytes.len() {
        let mut i = start;
        let mut ascii = true;
        loop {
            // The body of the chunk, up to its first ASCII whitespace.
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                ascii &= bytes[i].is_ascii();
                i += 1;
            }
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            // A non-ASCII character right after whitespace might be glued to it (a combining
            // mark, say), so the chunk only ends before an ASCII one.
            if i >= bytes.len() || bytes[i].is_ascii() {
                break;
            }
        }
        let chunk = &nfkc_text[start..i];
        if ascii {
            ascii_words(chunk, split, &mut emit);
        } else {
            unicode_words(chunk, split, &mut emit);
        }
        start = i;
    }
}

// Byte classes for `ascii_words`, as bits in `CLASS`.
const LETTER: u8 = 1;
const DIGIT: u8 = 2;
const UNDERSCORE: u8 = 4;
/// `.`, `'`, `:`, `,` and `;`, the only bytes that can join two runs into one word.
const JOINER: u8 = 8;
const ALNUM: u8 = LETTER | DIGIT;
const WORDISH: u8 = LETTER | DIGIT | UNDERSCORE;

/// The class of every byte: one table look-up per byte instead of a chain of range tests,
/// which were most of the cost of segmenting.
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() {
            LETTER
        } else if c.is_ascii_digit() {
            DIGIT
        } else if c == b'_' {
            UNDERSCORE
        } else if matches!(c, b'.' | b'\'' | b':' | b',' | b';') {
            JOINER
        } else {
            0
        };
        b += 1;
    }
    table
};

fn class(b: u8) -> u8 {
    CLASS[b as usize]
}

/// The top bit of each of eight ASCII bytes set when the byte is a letter or digit, or `_`
/// with `underscore`: the classes of `CLASS` for eight bytes at once.
fn alnum8(x: u64, underscore: bool) -> u64 {
    // Setting bit 5 makes upper-case letters lower-case, and brings no other byte into `a..=z`.
    let mut m = in_range(x | (0x20 * ONES), b'a', b'z') | in_range(x, b'0', b'9');
    if underscore {
        m |= in_range(x, b'_', b'_');
    }
    m & HIGH
}

/// The end of the run of letters and digits (and `_` with `underscore`) from `i` of ASCII
/// text, found eight bytes at a time while eight remain: a run is a word, a few bytes long, and
/// one test of eight bytes costs about what one of a single byte does.
fn run_end(b: &[u8], mut i: usize, underscore: bool) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
        let outside = !alnum8(x, underscore) & HIGH;
        if outside != 0 {
            return i + (outside.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let class_mask = if underscore { WORDISH } else { ALNUM };
    while i < b.len() && class(b[i]) & class_mask != 0 {
        i += 1;
    }
    i
}

/// Segments pure ASCII text exactly as UAX #29 (and [`unicode_words`]) would.
///
/// In ASCII, a word is a run of letters, digits and `_`, which may continue across one `.`
/// or `'` between two letters or two digits, one `:` between two letters, or one `,` or `;`
/// between two digits; runs holding only `_` are not words. URL splitting keeps only the
/// runs of letters and digits.
fn ascii_words<'a>(chunk: &'a str, split: Split, emit: &mut impl FnMut(&'a str)) {
    debug_assert!(chunk.is_ascii());
    let b = chunk.as_bytes();
    let n = b.len();
    // URL splitting keeps only runs of letters and digits: `_` and the joiners cut words.
    let words = split == Split::Words;
    let starts = if words { WORDISH } else { ALNUM };
    let mut i = 0;
    while i < n {
        if class(b[i]) & starts == 0 {
            i += 1;
            continue;
        }
        let from = i;
        loop {
            i = run_end(b, i, words);
            // Most runs end at a space, which no rule joins across.
            if words && i + 1 < n && class(b[i]) & JOINER != 0 {
                let (prev, next) = (class(b[i - 1]), class(b[i + 1]));
                let letters = prev & next & LETTER != 0;
                let digits = prev & next & DIGIT != 0;
                let joins = match b[i] {
                    b'.' | b'\'' => letters || digits,
                    b':' => letters,
                    _ => digits,
                };
                if joins {
                    i += 1;
                    continue;
                }
            }
            break;
        }
        // A joined word holds letters or digits around its joiner, so only a single run can
        // be all `_`.
        if b[from] != b'_' || b[from..i].iter().any(|&c| c != b'_') {
            emit_word(&chunk[from..i], emit);
        }
    }
}

/// Calls `emit` with every word of an all-ASCII text, in order: [`for_each_word`] for the
/// common case, which callers can then handle with ASCII-only code.
pub(crate) fn for_each_ascii_word<'a>(ascii_text: &'a str, split: Split, mut emit: impl FnMut(&'a str)) {
    ascii_words(ascii_text, split, &mut emit);
}

/// Emits a word, an English possessive as two: `Trump's` is `Trump` and `s`, so that the
/// rule word `trump` finds it while `=Trump's` still needs the `'s`.
#[inline(always)]
fn emit_word<'a>(word: &'a str, emit: &mut impl FnMut(&'a str)) {
    let b = word.as_bytes();
    let n = b.len();
    if n > 2 && b[n - 2] == b'\'' && b[n - 1] | 0x20 == b's' {
        emit(&word[..n - 2]);
        emit(&word[n - 1..]);
    } else {
        emit(word);
    }
}

/// The general path: UAX #29 words, with Han ideographs cut apart and URL splitting applied.
fn unicode_words<'a>(text: &'a str, split: Split, emit: &mut impl FnMut(&'a str)) {
    for word in text.unicode_words() {
        let plain = !word.chars().any(is_han) && (split == Split::Words || word.chars().all(char::is_alphanumeric));
        if plain {
            emit_word(word, emit);
            continue;
        }
        // Cut the word into Han characters and runs of other characters, dropping the
        // characters that URL splitting treats as separators.
        let mut run_start: Option<usize> = None;
        for (i, c) in word.char_indices() {
            let separator = split == Split::Url && !c.is_alphanumeric();
            if is_han(c) || separator {
                if let Some(s) = run_start.take() {
                    emit_if_wordy(&word[s..i], emit);
                }
                if !separator {
                    emit(&word[i..i + c.len_utf8()]);
                }
            } else if run_start.is_none() {
                run_start = Some(i);
            }
        }
        if let Some(s) = run_start {
            emit_if_wordy(&word[s..], emit);
        }
    }
}

/// Emits a fragment only when it still holds a letter or digit, as UAX #29 word filtering does.
fn emit_if_wordy<'a>(fragment: &'a str, emit: &mut impl FnMut(&'a str)) {
    if fragment.chars().any(char::is_alphanumeric) {
        emit(fragment);
    }
}

/// Appends the folded form of one word to `out`: the same as [`fold`], without allocating for
/// ASCII words.
pub(crate) fn fold_into(word: &str, out: &mut String) {
    if word.is_ascii() {
        let from = out.len();
        out.push_str(word);
        out[from..].make_ascii_lowercase();
    } else {
        out.push_str(&fold(word));
    }
}

/// Calls `emit` with the folded form of every word of `text`, in order: the words and the
/// folding that documents get, for other stages (story signatures) that compare texts by words.
pub(crate) fn for_each_folded_word(text: &str, mut emit: impl FnMut(&str)) {
    let normalised = nfkc(text);
    let mut folded = String::new();
    for_each_word(&normalised, Split::Words, |w| {
        folded.clear();
        fold_into(w, &mut folded);
        emit(&folded);
    });
}

/// Normalises and splits a text into words carrying both their exact and folded forms.
pub(crate) fn words(text: &str, split: Split) -> Vec<Word> {
    let normalised = nfkc(text);
    let mut out = Vec::new();
    for_each_word(&normalised, split, |w| {
        out.push(Word { exact: w.into(), folded: fold(w).into() });
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(text: &str, split: Split) -> Vec<String> {
        words(text, split).into_iter().map(|w| w.folded.into_string()).collect()
    }

    #[test]
    fn fold_handles_case_accents_and_special_letters() {
        assert_eq!(fold("PYŎNGYANG"), "pyongyang");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Łódź Đà Nẵng Øre İstanbul ıi"), "lodz da nang ore istanbul ii");
        assert_eq!(fold("ﬁnal ＡＢＣ"), "final abc");
        assert_eq!(fold("한국"), "한국");
        assert_eq!(fold("plain ascii"), "plain ascii");
    }

    #[test]
    fn words_split_hyphens_han_and_urls() {
        assert_eq!(folded("Kim Jong-un, e-mail!", Split::Words), ["kim", "jong", "un", "e", "mail"]);
        assert_eq!(folded("朝鲜发射", Split::Words), ["朝", "鲜", "发", "射"]);
        assert_eq!(folded("Selasa (6/9/2022)", Split::Words), ["selasa", "6", "9", "2022"]);
        assert_eq!(folded("senjata2 senjata-senjata", Split::Words), ["senjata2", "senjata", "senjata"]);
        assert_eq!(
            folded("https://www.cnnindonesia.com/internasional/x_y", Split::Url),
            ["https", "www", "cnnindonesia", "com", "internasional", "x", "y"]
        );
    }

    #[test]
    fn exact_form_keeps_case() {
        let w = words("Intelijen AS:", Split::Words);
        assert_eq!(&*w[1].exact, "AS");
        assert_eq!(&*w[1].folded, "as");
    }

    /// Every word of a text by the general path alone, as segmentation was before the ASCII
    /// fast path existed.
    fn reference(text: &str, split: Split) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        unicode_words(text, split, &mut |w: &str| out.push((w.as_ptr() as usize - text.as_ptr() as usize, w.into())));
        out
    }

    fn fast(text: &str, split: Split) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for_each_word(text, split, |w| out.push((w.as_ptr() as usize - text.as_ptr() as usize, w.into())));
        out
    }

    #[test]
    fn fast_path_agrees_on_tricky_text() {
        for text in [
            "can't 3.14 1,000,000 a:b a.b. e.g. x_y _ __a a__ 1;2 a;b a,b 1:2 a'1 1'2 a.1 ..a a..b",
            "“Kutipan” — kata’nya 6/9/2022 Rp 1.000.000,00 (AS) e\u{301}a \u{301}abc  \u{93E}x",
            "x \u{200D}\u{1F600} a\u{AD}b cafe\u{301} naïve Pyŏngyang 朝鲜 ﾃｽﾄ テスト 🇮🇩🇰🇷 a\u{B7}b",
            "\r\n a\tb\x0bc\x0cd\u{85}e \u{A0}f  \u{2028}g www.cnnindonesia.com/x_y?id=12&a=b",
            "",
            "   ",
            "end.",
        ] {
            for split in [Split::Words, Split::Url] {
                assert_eq!(fast(text, split), reference(text, split), "{text:?} {split:?}");
            }
        }
    }

    #[test]
    fn eight_byte_classes_agree_with_the_table() {
        for b in 0u8..128 {
            for at in 0..8 {
                // The other bytes both in and out of the class, as neighbours must not matter.
                for fill in [b' ', b'a', b'_', b'Z', b'9', 0x7F] {
                    let mut bytes = [fill; 8];
                    bytes[at] = b;
                    let x = u64::from_le_bytes(bytes);
                    for (underscore, mask) in [(false, ALNUM), (true, WORDISH)] {
                        let set = alnum8(x, underscore) >> (8 * at + 7) & 1 == 1;
                        assert_eq!(set, class(b) & mask != 0, "{b} at {at} among {fill}, {underscore}");
                    }
                }
            }
        }
    }

    #[test]
    fn fold_into_agrees_with_fold() {
        for w in ["Senjata", "PYŎNGYANG", "Straße", "ﬁnal", "x_Y", "2022", "ΣΑΣ"] {
            let mut out = String::from("prefix");
            fold_into(w, &mut out);
            assert_eq!(out, format!("prefix{}", fold(w)));
        }
    }

    use proptest::prelude::*;

    /// Characters that exercise every word-break class that occurs in ASCII, plus non-ASCII
    /// ones that join, extend or separate words.
    fn tricky_char() -> impl Strategy<Value = char> {
        prop_oneof![
            4 => proptest::char::range(' ', '~'),
            2 => proptest::sample::select(vec![' ', ' ', '\n', '\r', '\t', '\x0b', '\x0c', 'a', 'Z', '1', '.', ',', ':', ';', '\'', '_', '"']),
            1 => proptest::sample::select(vec![
                '\u{301}', '\u{93E}', '\u{200D}', '\u{AD}', '\u{A0}', '\u{2019}', '\u{B7}', '\u{85}', '\u{2028}',
                '\u{5D0}', '\u{30C6}', '\u{1F1EE}', '\u{1F600}', '朝', 'é', 'ß', '\u{FF21}', '\u{3000}', '\u{200B}',
            ]),
            1 => any::<char>(),
        ]
    }

    proptest! {
        #[test]
        fn fast_path_agrees_with_unicode_segmentation(chars in proptest::collection::vec(tricky_char(), 0..40)) {
            let text: String = chars.into_iter().collect();
            for split in [Split::Words, Split::Url] {
                prop_assert_eq!(fast(&text, split), reference(&text, split), "{:?} {:?}", text, split);
            }
        }

        /// Pure ASCII text takes the fast path as a whole, without being cut into chunks.
        #[test]
        fn ascii_fast_path_agrees_with_unicode_segmentation(
            chars in proptest::collection::vec(prop_oneof![
                3 => proptest::char::range(' ', '~'),
                2 => proptest::sample::select(vec![' ', '\n', '\t', 'a', 'Z', '1', '9', '.', ',', ':', ';', '\'', '_']),
            ], 0..120)
        ) {
            let text: String = chars.into_iter().collect();
            for split in [Split::Words, Split::Url] {
                prop_assert_eq!(fast(&text, split), reference(&text, split), "{:?} {:?}", text, split);
            }
        }

        #[test]
        fn fold_into_agrees_with_fold_on_any_word(w in "\\PC{0,12}") {
            let mut out = String::new();
            fold_into(&w, &mut out);
            prop_assert_eq!(out, fold(&w));
        }
    }
}
