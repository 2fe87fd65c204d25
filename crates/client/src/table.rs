//! Every table the command line prints, in one style: a rule between
//! columns and under the header, no outer border, no trailing blanks.
//! comfy-table measures each cell's display width, so columns line up
//! with Chinese names in them too.

use std::fmt;

use comfy_table::{CellAlignment, ContentLineStyle, LineStyle, TableStyle};

const STYLE: TableStyle = TableStyle::new()
    .header_lines(ContentLineStyle::none().junction('│'))
    .header_separator(LineStyle::none().fill('─').junction('┼'))
    .content_lines(ContentLineStyle::none().junction('│'));

/// The tables in `text` (runs of lines with column rules), each line's
/// rules checked to stand at the same display columns as its header's
/// (CJK characters take two): how many, or the first line out of line.
/// For tests of what the command line prints.
pub fn aligned_tables(text: &str) -> Result<usize, String> {
    let width = |s: &str| -> usize {
        s.chars()
            .map(|c| {
                if ('\u{2E80}'..='\u{FFEF}').contains(&c) {
                    2
                } else {
                    1
                }
            })
            .sum()
    };
    let mut tables = 0;
    let mut header: Option<Vec<usize>> = None;
    for line in text.lines() {
        let rules: Vec<usize> = line
            .char_indices()
            .filter(|(_, c)| matches!(c, '│' | '┼'))
            .map(|(i, _)| width(&line[..i]))
            .collect();
        match (&header, rules.is_empty()) {
            (_, true) => header = None,
            (None, false) => {
                tables += 1;
                header = Some(rules);
            }
            (Some(h), false) if &rules != h => {
                return Err(format!(
                    "{line:?}: rules at {rules:?}, its header's at {h:?}"
                ));
            }
            (Some(_), false) => {}
        }
    }
    Ok(tables)
}

/// A table with a header row; `Display` renders it, one line per row.
pub struct Table(comfy_table::Table);

impl Table {
    pub fn new<S: ToString>(header: impl IntoIterator<Item = S>) -> Table {
        let mut t = comfy_table::Table::new();
        t.load_style(STYLE);
        t.set_header(
            header
                .into_iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>(),
        );
        Table(t)
    }

    /// Right-aligns these columns (counts, rates, durations).
    pub fn right(mut self, columns: &[usize]) -> Table {
        for &i in columns {
            if let Some(c) = self.0.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        self
    }

    pub fn row<S: ToString>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Table {
        self.0
            .add_row(cells.into_iter().map(|c| c.to_string()).collect::<Vec<_>>());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Table {
    /// The rows, each ending in a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.0.lines() {
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_whatever_the_cell_widths() {
        let mut t = Table::new(["unit", "name", "orders"]).right(&[2]);
        t.row(["t-market", "市场街道", "12"]);
        t.row(["dept-utility", "Utility", "3"]);
        let text = t.to_string();
        let width = |s: &str| display_width(s);
        let columns: Vec<Vec<usize>> = text
            .lines()
            .map(|l| {
                l.char_indices()
                    .filter(|(_, c)| matches!(c, '│' | '┼'))
                    .map(|(i, _)| width(&l[..i]))
                    .collect()
            })
            .collect();
        assert_eq!(columns.len(), 4, "{text}");
        assert!(
            columns.iter().all(|c| c.len() == 2 && c == &columns[0]),
            "{text}"
        );
        assert!(text.lines().all(|l| l == l.trim_end()), "{text:?}");
        assert!(text.contains("│     12\n"), "counts right-aligned: {text}");
    }

    /// Display columns: CJK characters take two.
    fn display_width(s: &str) -> usize {
        s.chars()
            .map(|c| {
                if ('\u{2E80}'..='\u{FFEF}').contains(&c) {
                    2
                } else {
                    1
                }
            })
            .sum()
    }
}
