//! The matched terms of a rule: a list of strings that a rule set fills with ids into its
//! shared label table, so that reporting a match allocates nothing.

use std::sync::Arc;

use super::prog::Labels;

/// The matched terms of a [`Match`](super::Match), a list of strings.
///
/// A [`RuleSet`](super::RuleSet) reports most matches without allocating: the list then holds a few ids
/// into the set's shared label table, and the strings are only copied when asked for with
/// [`Terms::to_vec`]. Compares equal to any list with the same strings.
#[derive(Clone)]
pub struct Terms(TermsRepr);

/// Labels a [`Terms`] holds inline before it falls back to owned strings.
const INLINE_TERMS: usize = 6;

#[derive(Clone)]
enum TermsRepr {
    Shared { labels: Arc<Labels>, len: u8, ids: [u32; INLINE_TERMS] },
    Owned(Vec<String>),
}

impl Terms {
    /// Terms that are labels of a rule set, by id.
    pub(crate) fn shared(labels: &Arc<Labels>, ids: &[u32]) -> Terms {
        if ids.len() > INLINE_TERMS {
            return Terms(TermsRepr::Owned(ids.iter().map(|&id| labels.get(id).to_owned()).collect()));
        }
        let mut inline = [0; INLINE_TERMS];
        inline[..ids.len()].copy_from_slice(ids);
        Terms(TermsRepr::Shared { labels: Arc::clone(labels), len: ids.len() as u8, ids: inline })
    }

    /// Number of terms.
    pub fn len(&self) -> usize {
        match &self.0 {
            TermsRepr::Shared { len, .. } => usize::from(*len),
            TermsRepr::Owned(v) => v.len(),
        }
    }

    /// Whether there are no terms (a rule can match through NOT alone).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The term at an index.
    pub fn get(&self, i: usize) -> Option<&str> {
        match &self.0 {
            TermsRepr::Shared { labels, len, ids } => (i < usize::from(*len)).then(|| labels.get(ids[i])),
            TermsRepr::Owned(v) => v.get(i).map(String::as_str),
        }
    }

    /// The terms in order.
    pub fn iter(&self) -> TermsIter<'_> {
        TermsIter { terms: self, next: 0 }
    }

    /// The terms as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }

    /// The terms joined with a separator, like [`slice::join`].
    pub fn join(&self, sep: &str) -> String {
        let mut out = String::new();
        for (i, t) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            out.push_str(t);
        }
        out
    }
}

impl From<Vec<String>> for Terms {
    fn from(terms: Vec<String>) -> Terms {
        Terms(TermsRepr::Owned(terms))
    }
}

impl From<Terms> for Vec<String> {
    fn from(terms: Terms) -> Vec<String> {
        match terms.0 {
            TermsRepr::Owned(v) => v,
            TermsRepr::Shared { .. } => terms.to_vec(),
        }
    }
}

impl std::fmt::Debug for Terms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Terms {
    fn eq(&self, other: &Terms) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Terms {}

impl<S: AsRef<str>> PartialEq<[S]> for Terms {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Terms {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Terms {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl<'a> IntoIterator for &'a Terms {
    type Item = &'a str;
    type IntoIter = TermsIter<'a>;

    fn into_iter(self) -> TermsIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Terms`].
#[derive(Clone, Debug)]
pub struct TermsIter<'a> {
    terms: &'a Terms,
    next: usize,
}

impl<'a> Iterator for TermsIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let t = self.terms.get(self.next)?;
        self.next += 1;
        Some(t)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.terms.len() - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for TermsIter<'_> {}
