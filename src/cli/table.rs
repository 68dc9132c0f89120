//! Plain-text tables for terminal output: columns padded to their widest cell.

use crate::markup::printable_line;

/// Render `rows` under `header`, columns separated by two spaces, trailing spaces trimmed.
/// Cells hold text from feeds and servers: each is shown on one line, with control characters
/// and bidi overrides as escapes (`\x1b`), so no cell can act on the terminal or the layout.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> =
        rows.iter().map(|row| row.iter().map(|cell| printable_line(cell).into_owned()).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            s.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up_by_characters() {
        let t = super::render(&["A", "B"], &[vec!["ééé".into(), "x".into()], vec!["b".into(), "".into()]]);
        assert_eq!(t, "A    B\nééé  x\nb\n");
    }

    #[test]
    fn cells_cannot_act_on_the_terminal() {
        let t = super::render(
            &["TITLE", "X"],
            &[
                vec!["\u{1b}[31mred\u{1b}]0;title\u{7}".into(), "y".into()],
                vec!["two\nlines\u{202e}".into(), "z".into()],
            ],
        );
        assert_eq!(
            t,
            "TITLE                        X\n\\x1b[31mred\\x1b]0;title\\x07  y\ntwo lines\\u202e              z\n"
        );
    }
}
