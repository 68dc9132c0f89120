//! Light stemmers used by `~term`: a rule-based Indonesian one and a minimal English one.
//!
//! A stemmer here returns a small set of candidate stems rather than a single stem, because
//! Indonesian nasal prefixes hide the first letter of the root (`mengirim` may come from
//! `kirim` or from `irim`). Two words are taken to share a stem when their candidate sets
//! intersect; the same function is applied to rule literals and document words.

/// Which stemmer a rule uses, chosen from the rule's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stemmer {
    Indonesian,
    English,
}

/// Shortest root, in characters, that stripping an affix may leave behind; shorter remainders
/// are almost always accidents such as `ikan` losing `-kan`.
const MIN_ROOT: usize = 4;

impl Stemmer {
    /// Picks the stemmer for a rule language tag such as `id`, `id-ID` or `en`.
    pub(crate) fn for_lang(lang: Option<&str>) -> Stemmer {
        if is_indonesian(lang) {
            Stemmer::Indonesian
        } else {
            Stemmer::English
        }
    }

    /// Index of this stemmer in per-stemmer caches.
    pub(crate) fn index(self) -> usize {
        match self {
            Stemmer::Indonesian => 0,
            Stemmer::English => 1,
        }
    }

    /// The part of a candidate stem that every word having that candidate contains verbatim,
    /// so that words without it can be skipped without stemming them.
    ///
    /// Indonesian stems are a piece of the word, possibly with a first letter restored after
    /// a nasal prefix (`kirim` from `mengirim`), so all but the first character remains.
    /// English stems are a start of the word, possibly with `y` for `ies`, so all but the last
    /// character remains.
    pub(crate) fn needle(self, candidate: &str) -> &str {
        match self {
            Stemmer::Indonesian => candidate.char_indices().nth(1).map_or("", |(i, _)| &candidate[i..]),
            Stemmer::English => candidate.char_indices().last().map_or("", |(i, _)| &candidate[..i]),
        }
    }

    /// Whether an already folded word has a candidate stem among `candidates`: the same as
    /// testing each of [`Stemmer::candidates`], but without building them for Indonesian.
    pub(crate) fn shares_candidate(self, folded: &str, candidates: &[String]) -> bool {
        match self {
            Stemmer::Indonesian => indonesian_each(folded, &mut |f| candidates.iter().any(|c| f.is(c))),
            Stemmer::English => candidates.contains(&english(folded)),
        }
    }

    /// Returns the candidate stems of an already folded word, without duplicates.
    pub(crate) fn candidates(self, folded: &str) -> Vec<String> {
        match self {
            Stemmer::Indonesian => indonesian(folded),
            Stemmer::English => vec![english(folded)],
        }
    }
}

/// Tells whether a language tag names Indonesian (`id`, `id-ID`, `id_ID`, or the legacy `in`, `ind`).
pub(crate) fn is_indonesian(lang: Option<&str>) -> bool {
    let Some(tag) = lang else { return false };
    let primary = tag.split(['-', '_']).next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(primary.as_str(), "id" | "in" | "ind")
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Removes `suffix` when what remains is still a plausible root.
fn strip_suffix<'a>(word: &'a str, suffix: &str) -> Option<&'a str> {
    word.strip_suffix(suffix).filter(|rest| char_len(rest) >= MIN_ROOT)
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// `word` without one particle (`-lah`, `-kah`, `-tah`, `-pun`) and then one possessive
/// (`-nya`, `-ku`, `-mu`), each when present.
fn strip_clitics(word: &str) -> &str {
    let mut base = word;
    for particle in ["lah", "kah", "tah", "pun"] {
        if let Some(rest) = strip_suffix(base, particle) {
            base = rest;
            break;
        }
    }
    for possessive in ["nya", "ku", "mu"] {
        if let Some(rest) = strip_suffix(base, possessive) {
            base = rest;
            break;
        }
    }
    base
}

/// Indonesian: particles, then possessives, then up to two prefixes, then one derivational suffix.
fn indonesian(word: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if char_len(word) < MIN_ROOT || !word.chars().all(char::is_alphabetic) {
        out.push(word.to_owned());
        return out;
    }
    let base = strip_clitics(word);
    // Every intermediate form is kept as a candidate, because a light stemmer cannot know
    // whether a leading `ber`, `se` or `di` is a prefix or part of the root.
    let mut forms: Vec<String> = vec![base.to_owned()];
    let mut frontier: Vec<String> = vec![base.to_owned()];
    for _round in 0..2 {
        let mut next = Vec::new();
        for form in &frontier {
            for stripped in strip_prefix(form) {
                if !forms.contains(&stripped) {
                    forms.push(stripped.clone());
                    next.push(stripped);
                }
            }
        }
        frontier = next;
    }
    for form in &forms {
        push_unique(&mut out, form.clone());
        let without_suffix =
            strip_suffix(form, "kan").or_else(|| strip_suffix(form, "an")).or_else(|| strip_suffix(form, "i"));
        if let Some(rest) = without_suffix {
            push_unique(&mut out, rest.to_owned());
        }
    }
    out
}

/// A form [`indonesian`] builds, held without allocating: a first letter restored after a
/// nasal prefix, if any, followed by a piece of the word.
#[derive(Clone, Copy, Debug)]
struct Form<'a> {
    head: Option<u8>,
    rest: &'a str,
}

impl<'a> Form<'a> {
    fn plain(rest: &'a str) -> Form<'a> {
        Form { head: None, rest }
    }

    fn char_len(self) -> usize {
        usize::from(self.head.is_some()) + char_len(self.rest)
    }

    /// Whether the form spells `s`.
    fn is(self, s: &str) -> bool {
        match self.head {
            None => s == self.rest,
            Some(h) => {
                let b = s.as_bytes();
                b.len() == 1 + self.rest.len() && b[0] == h && &b[1..] == self.rest.as_bytes()
            }
        }
    }

    /// What follows an ASCII `prefix` of at least one byte, as `str::strip_prefix` on the
    /// spelled form; a restored letter is always part of any prefix it starts.
    fn strip_prefix(self, prefix: &str) -> Option<&'a str> {
        match self.head {
            None => self.rest.strip_prefix(prefix),
            Some(h) => {
                let (first, more) = prefix.as_bytes().split_first()?;
                if *first != h {
                    return None;
                }
                // `more` is ASCII, so it ends on a character boundary.
                self.rest.strip_prefix(std::str::from_utf8(more).ok()?)
            }
        }
    }

    /// [`strip_suffix`] on the spelled form; the suffixes are longer than nothing, and the
    /// forms that carry a restored letter have at least three more characters, so a suffix
    /// never reaches the letter.
    fn strip_suffix(self, suffix: &str) -> Option<Form<'a>> {
        let rest = self.rest.strip_suffix(suffix)?;
        Some(Form { head: self.head, rest }).filter(|f| f.char_len() >= MIN_ROOT)
    }

    #[cfg(test)]
    fn spelled(self) -> String {
        self.head.map(char::from).into_iter().chain(self.rest.chars()).collect()
    }
}

/// Calls `visit` with each candidate stem [`indonesian`] returns (possibly more than once)
/// until it returns true, and tells whether it did; nothing is allocated.
fn indonesian_each<'a>(word: &'a str, visit: &mut impl FnMut(Form<'a>) -> bool) -> bool {
    if char_len(word) < MIN_ROOT || !word.chars().all(char::is_alphabetic) {
        return visit(Form::plain(word));
    }
    let base = strip_clitics(word);
    // `indonesian` does not expand a form twice, but expanding it again only finds the same
    // forms again, so the set of candidates is the same.
    fn forms<'a>(form: Form<'a>, round: u8, visit: &mut impl FnMut(Form<'a>) -> bool) -> bool {
        let without_suffix =
            form.strip_suffix("kan").or_else(|| form.strip_suffix("an")).or_else(|| form.strip_suffix("i"));
        if visit(form) || without_suffix.is_some_and(&mut *visit) {
            return true;
        }
        round < 2 && strip_prefix_each(form, &mut |f| forms(f, round + 1, visit))
    }
    forms(Form::plain(base), 0, visit)
}

/// Calls `keep` with each root [`strip_prefix`] returns (possibly more than once) until it
/// returns true, and tells whether it did.
fn strip_prefix_each<'a>(word: Form<'a>, keep: &mut impl FnMut(Form<'a>) -> bool) -> bool {
    let mut keep = |head: Option<u8>, rest: &'a str| {
        let root = Form { head, rest };
        root.char_len() >= MIN_ROOT && keep(root)
    };
    for head in ["me", "pe"] {
        let Some(rest) = word.strip_prefix(head) else {
            continue;
        };
        let found = if let Some(r) = rest.strip_prefix("ng") {
            if r.starts_with(is_vowel) {
                keep(None, r) || keep(Some(b'k'), r)
            } else {
                r.starts_with(['g', 'h', 'k']) && keep(None, r)
            }
        } else if let Some(r) = rest.strip_prefix("ny") {
            keep(Some(b's'), r)
        } else if let Some(r) = rest.strip_prefix('m') {
            if r.starts_with(['b', 'f', 'v', 'p']) {
                keep(None, r)
            } else {
                r.starts_with(is_vowel) && (keep(Some(b'p'), r) || keep(Some(b'm'), r))
            }
        } else if let Some(r) = rest.strip_prefix('n') {
            if r.starts_with(['c', 'd', 'j', 'z', 't', 's']) {
                keep(None, r)
            } else {
                r.starts_with(is_vowel) && (keep(Some(b't'), r) || keep(Some(b'n'), r))
            }
        } else if rest.starts_with(['l', 'r', 'w', 'y']) || head == "pe" {
            keep(None, rest)
        } else {
            false
        };
        if found {
            return true;
        }
    }
    for prefix in ["ber", "ter", "per", "di", "ke", "se"] {
        if let Some(rest) = word.strip_prefix(prefix) {
            if keep(None, rest) {
                return true;
            }
        }
    }
    for prefix in ["be", "te"] {
        if let Some(rest) = word.strip_prefix(prefix) {
            if rest.starts_with('r') && keep(None, rest) {
                return true;
            }
        }
    }
    false
}

fn push_unique(out: &mut Vec<String>, s: String) {
    if !out.contains(&s) {
        out.push(s);
    }
}

/// Returns the possible roots left after removing one prefix, undoing nasal assimilation.
fn strip_prefix(word: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut keep = |root: String| {
        if char_len(&root) >= MIN_ROOT && !out.contains(&root) {
            out.push(root);
        }
    };
    // meN- and peN- behave alike, so both are handled by the same nasal rules.
    for head in ["me", "pe"] {
        let Some(rest) = word.strip_prefix(head) else {
            continue;
        };
        if let Some(r) = rest.strip_prefix("ng") {
            // meng- before a vowel may have swallowed a k (mengirim < kirim).
            if r.starts_with(is_vowel) {
                keep(r.to_owned());
                keep(format!("k{r}"));
            } else if r.starts_with(['g', 'h', 'k']) {
                keep(r.to_owned());
            }
        } else if let Some(r) = rest.strip_prefix("ny") {
            // meny- replaces an s (menyerang < serang).
            keep(format!("s{r}"));
        } else if let Some(r) = rest.strip_prefix('m') {
            if r.starts_with(['b', 'f', 'v', 'p']) {
                keep(r.to_owned());
            } else if r.starts_with(is_vowel) {
                // mem- before a vowel replaces a p (memukul < pukul) or keeps an m (memakan < makan).
                keep(format!("p{r}"));
                keep(format!("m{r}"));
            }
        } else if let Some(r) = rest.strip_prefix('n') {
            if r.starts_with(['c', 'd', 'j', 'z', 't', 's']) {
                keep(r.to_owned());
            } else if r.starts_with(is_vowel) {
                // men- before a vowel replaces a t (menulis < tulis) or keeps an n (menanti < nanti).
                keep(format!("t{r}"));
                keep(format!("n{r}"));
            }
        } else if rest.starts_with(['l', 'r', 'w', 'y']) {
            keep(rest.to_owned());
        } else if head == "pe" {
            // pe- without a nasal also exists (petani < tani, pelajar < ajar is left alone).
            keep(rest.to_owned());
        }
        // per- also starts with pe-; the plain-prefix loop below removes it whole.
    }
    for prefix in ["ber", "ter", "per", "di", "ke", "se"] {
        if let Some(rest) = word.strip_prefix(prefix) {
            keep(rest.to_owned());
        }
    }
    // Before a root that starts with r, ber- and ter- drop their own r (berenang < renang),
    // so the short forms be- and te- are tried there.
    for prefix in ["be", "te"] {
        if let Some(rest) = word.strip_prefix(prefix) {
            if rest.starts_with('r') {
                keep(rest.to_owned());
            }
        }
    }
    out
}

/// English: plural -s/-es/-ies, -ing and -ed, with a final -e removed so that `make`
/// and `making` meet at `mak`.
fn english(word: &str) -> String {
    if char_len(word) < 4 || !word.chars().all(char::is_alphabetic) {
        return word.to_owned();
    }
    let mut stem: String = if let Some(rest) = word.strip_suffix("ies").filter(|r| char_len(r) >= 2) {
        format!("{rest}y")
    } else if let Some(rest) = word.strip_suffix("sses") {
        format!("{rest}ss")
    } else if let Some(rest) = ["ches", "shes", "xes", "zes"]
        .iter()
        .find_map(|s| word.strip_suffix(s).map(|r| (r, &s[..s.len() - 2])))
        .map(|(r, keep)| format!("{r}{keep}"))
    {
        rest
    } else if word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") && !word.ends_with("is") {
        word[..word.len() - 1].to_owned()
    } else if let Some(rest) = word.strip_suffix("ing").filter(|r| char_len(r) >= 3) {
        undouble(rest)
    } else if let Some(rest) = word.strip_suffix("ed").filter(|r| char_len(r) >= 3) {
        undouble(rest)
    } else {
        word.to_owned()
    };
    if stem.len() > 3 && stem.ends_with('e') {
        stem.pop();
    }
    stem
}

/// Turns `runn` into `run`, since -ing and -ed double a final consonant.
fn undouble(rest: &str) -> String {
    let mut chars = rest.chars().rev();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a == b && !is_vowel(a) && !matches!(a, 'l' | 's' | 'z') => {
            rest[..rest.len() - a.len_utf8()].to_owned()
        }
        _ => rest.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_stem(stemmer: Stemmer, a: &str, b: &str) -> bool {
        let ca = stemmer.candidates(a);
        stemmer.candidates(b).iter().any(|c| ca.contains(c))
    }

    #[test]
    fn indonesian_affixes() {
        let id = Stemmer::Indonesian;
        for (a, b) in [
            ("senjata", "persenjataan"),
            ("senjata", "bersenjata"),
            ("senjata", "senjatanya"),
            ("beli", "membeli"),
            ("beli", "dibeli"),
            ("beli", "pembelian"),
            ("impor", "mengimpor"),
            ("ekspor", "mengekspor"),
            ("kirim", "mengirim"),
            ("serang", "menyerang"),
            ("pukul", "memukul"),
            ("tulis", "menulis"),
            ("lapor", "melaporkan"),
            ("larang", "dilarang"),
            ("belanja", "berbelanja"),
            ("beri", "diberikan"),
            ("rusia", "rusialah"),
        ] {
            assert!(same_stem(id, a, b), "{a} vs {b}: {:?} {:?}", id.candidates(a), id.candidates(b));
        }
        assert!(!same_stem(id, "senjata", "sanksi"));
        assert!(!same_stem(id, "roket", "rusia"));
    }

    #[test]
    fn english_suffixes() {
        let en = Stemmer::English;
        for (a, b) in [
            ("missile", "missiles"),
            ("run", "running"),
            ("launch", "launched"),
            ("box", "boxes"),
            ("city", "cities"),
            ("make", "making"),
        ] {
            assert!(same_stem(en, a, b), "{a} vs {b}");
        }
        assert!(!same_stem(en, "bus", "bu"));
    }

    #[test]
    fn language_tags() {
        assert!(is_indonesian(Some("id")));
        assert!(is_indonesian(Some("id-ID")));
        assert!(is_indonesian(Some("ID_id")));
        assert!(!is_indonesian(Some("en")));
        assert!(!is_indonesian(None));
    }

    /// Words built like Indonesian and English inflections, so that every affix rule fires.
    fn inflected() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let prefix = proptest::sample::select(vec![
            "", "", "me", "mem", "men", "meng", "meny", "pe", "pem", "pen", "peng", "peny", "ber", "be", "ter", "te",
            "per", "di", "ke", "se", "memper", "diper", "ke", "un",
        ]);
        let root = "[a-z]{0,7}";
        let suffix = proptest::sample::select(vec![
            "", "", "kan", "an", "i", "nya", "ku", "mu", "lah", "kah", "tah", "pun", "s", "es", "ies", "sses", "ches",
            "ing", "ed", "e", "2", "é",
        ]);
        (prefix, root, suffix).prop_map(|(p, r, s)| format!("{p}{r}{s}"))
    }

    /// The candidates the allocation-free path visits, as a sorted set of strings.
    fn visited(word: &str) -> Vec<String> {
        let mut out = Vec::new();
        indonesian_each(word, &mut |f| {
            out.push(f.spelled());
            false
        });
        out.sort();
        out.dedup();
        out
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn allocation_free_stems_equal_the_stems() {
        for word in [
            "mengirim",
            "menyerang",
            "memukul",
            "memakan",
            "menulis",
            "menanti",
            "persenjataan",
            "diberikan",
            "berenang",
            "terendam",
            "pengeluaran",
            "mengeluarkan",
            "memperbaiki",
            "dipersenjatai",
            "petani",
            "pelajar",
            "senjatanya",
            "rusialah",
            "ab",
            "abc",
            "abcd",
            "2024",
            "kata2",
            "méngirim",
            "menghargai",
            "pemerintahan",
            "kepresidenan",
            "sepeda",
            "menyanyikan",
            "mempelajari",
            "pembelian",
            "penyerangan",
        ] {
            assert_eq!(visited(word), sorted(indonesian(word)), "{word}");
        }
        let id = Stemmer::Indonesian;
        let senjata = id.candidates("senjata");
        assert!(id.shares_candidate("persenjataan", &senjata));
        assert!(!id.shares_candidate("sanksi", &senjata));
        assert!(!id.shares_candidate("senjata", &[]));
        let en = Stemmer::English;
        assert!(en.shares_candidate("cities", &en.candidates("city")));
        assert!(!en.shares_candidate("bus", &en.candidates("bu")));
    }

    /// Words over the letters and affixes the rules look at, so that prefixes stack.
    fn affixed() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let piece = proptest::sample::select(vec![
            "me", "pe", "ng", "ny", "m", "n", "ber", "be", "ter", "te", "per", "di", "ke", "se", "k", "r", "a", "e",
            "i", "o", "u", "s", "t", "p", "g", "h", "l", "w", "y", "b", "c", "j", "an", "kan", "nya", "lah", "ku", "é",
            "2",
        ]);
        proptest::collection::vec(piece, 0..7).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn allocation_free_stems_equal_the_stems_on_any_word(word in affixed(), other in affixed()) {
            proptest::prop_assert_eq!(visited(&word), sorted(indonesian(&word)), "{}", word);
            for stemmer in [Stemmer::Indonesian, Stemmer::English] {
                let theirs = stemmer.candidates(&other);
                let expected = stemmer.candidates(&word).iter().any(|c| theirs.contains(c));
                proptest::prop_assert_eq!(stemmer.shares_candidate(&word, &theirs), expected, "{} {}", word, other);
            }
        }

        #[test]
        fn allocation_free_stems_equal_the_stems_on_inflected_words(word in inflected()) {
            proptest::prop_assert_eq!(visited(&word), sorted(indonesian(&word)), "{}", word);
        }

        #[test]
        fn every_stem_leaves_its_needle_in_the_word(word in inflected()) {
            for stemmer in [Stemmer::Indonesian, Stemmer::English] {
                for c in stemmer.candidates(&word) {
                    let needle = stemmer.needle(&c);
                    proptest::prop_assert!(word.contains(needle), "{:?}: {:?} from {:?}", stemmer, needle, word);
                }
            }
        }
    }

    #[test]
    fn needles_of_known_words() {
        let id = Stemmer::Indonesian;
        for word in ["mengirim", "menyerang", "memukul", "menulis", "persenjataan", "diberikan", "berenang", "ab"] {
            for c in id.candidates(word) {
                assert!(word.contains(id.needle(&c)), "{word} {c}");
            }
        }
        assert_eq!(id.needle("kirim"), "irim");
        assert_eq!(Stemmer::English.needle("city"), "cit");
        assert_eq!(id.needle(""), "");
    }
}
