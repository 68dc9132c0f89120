//! Printing a compiled rule back as a query, in a canonical form.
//!
//! The canonical form spells every literal in its normalised form (folded words as a quoted
//! phrase, `="…"` for exact words, `~"…"` for stemmed ones), puts the field in front of every
//! leaf that has one, writes AND, OR and NEAR groups inside parentheses (except at the top),
//! and NOT as the keyword. Parsing it again with the same options gives the same tree.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{Expr, Leaf, LeafKind, Pat, Scope};
use super::lexer::{near_label, FIELD_NAMES};
use super::parser::field_scope;
use super::rule::Rule;

impl Display for Rule {
    /// Writes the rule's canonical query.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(self, f, true)
    }
}

fn write_expr(expr: &Expr, f: &mut Formatter<'_>, top: bool) -> fmt::Result {
    let group = |f: &mut Formatter<'_>, children: &[&Expr], op: &str| -> fmt::Result {
        if !top {
            f.write_char('(')?;
        }
        for (i, c) in children.iter().enumerate() {
            if i > 0 {
                write!(f, " {op} ")?;
            }
            write_expr(c, f, false)?;
        }
        if !top {
            f.write_char(')')?;
        }
        Ok(())
    };
    match expr {
        Expr::And(children) => group(f, &children.iter().collect::<Vec<_>>(), "AND"),
        Expr::Or(children) => group(f, &children.iter().collect::<Vec<_>>(), "OR"),
        Expr::Near { left, right, distance, ordered } => group(f, &[left, right], &near_label(*distance, *ordered)),
        Expr::Not(child) => {
            f.write_str("NOT ")?;
            write_expr(child, f, false)
        }
        Expr::Leaf(leaf) => write_leaf(leaf, f),
    }
}

fn write_leaf(leaf: &Leaf, f: &mut Formatter<'_>) -> fmt::Result {
    if leaf.scope != Scope::TEXT {
        if let Some((name, _)) = FIELD_NAMES.iter().find(|(_, field)| field_scope(*field) == leaf.scope) {
            write!(f, "{name}:")?;
        }
    }
    let pats = match &leaf.kind {
        LeafKind::Regex(_) => return f.write_str(&leaf.label),
        LeafKind::Seq(pats) => pats,
    };
    match pats.first() {
        Some(Pat::Glob { glob, exact }) => {
            if *exact {
                f.write_char('=')?;
            }
            glob.pattern().iter().try_for_each(|c| f.write_char(*c))
        }
        Some(Pat::Stem { .. }) => write!(f, "~\"{}\"", leaf.label),
        Some(Pat::Exact { .. }) => {
            f.write_str("=\"")?;
            for (i, p) in pats.iter().enumerate() {
                if let Pat::Exact { word, .. } = p {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    f.write_str(word)?;
                }
            }
            f.write_char('"')
        }
        Some(Pat::Folded { .. }) | None => write!(f, "\"{}\"", leaf.label),
    }
}
