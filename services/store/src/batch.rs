//! Writes whose results nobody reads, sent to the store together.
//!
//! On SQLite every statement is a round trip to the connection's own
//! thread (sqlx's worker): a hand-off there and back, two context
//! switches on a pinned CPU. A [`Batch`] sends its statements as one
//! multi-statement text in one round trip, their parameters bound in turn
//! across it. PostgreSQL runs them one after another, as before (its
//! extended protocol takes one statement per message).
//!
//! sqlx 0.9 runs every statement of a prepared SQLite text but calls that
//! behaviour deprecated (launchbadge/sqlx#3108: a later release may run
//! only one). The store test `a_batch_writes_what_its_statements_write`
//! fails if it stops; the way back is to run SQLite's batches one by one,
//! as PostgreSQL's are.

use sqlx::Execute as _;
use sqlx::any::AnyArguments;

use crate::{Backend, Conn, Result, StoreError};

/// A statement with its parameters bound, on either backend.
pub type Query<'q> = sqlx::query::Query<'q, sqlx::Any, AnyArguments>;

/// Statements to run together, in order, within the caller's transaction.
pub struct Batch {
    backend: Backend,
    /// Each statement's text, parameters, and whether it may be cached.
    statements: Vec<(String, AnyArguments, bool)>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("statements", &self.statements.len())
            .finish()
    }
}

impl Batch {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            statements: Vec::new(),
        }
    }

    /// A batch for `conn`'s backend.
    pub fn of(conn: &Conn) -> Self {
        Self::new(Backend::of(conn))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The VALUES rows of a multi-row statement of this batch
    /// ([`crate::placeholders`]).
    pub fn placeholders(&self, rows: usize, cols: usize) -> String {
        crate::placeholders_for(self.backend, rows, cols)
    }

    /// Adds a statement; nothing runs until [`Batch::run`].
    pub fn push(&mut self, mut query: Query<'_>) -> Result<()> {
        let args = query
            .take_arguments()
            .map_err(|e| StoreError::Corrupt(format!("a batched statement's parameters: {e}")))?
            .unwrap_or_default();
        let persistent = sqlx::Execute::persistent(&query);
        self.statements
            .push((query.sql().as_str().to_owned(), args, persistent));
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.statements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Runs the statements pushed so far and leaves the batch empty, for
    /// a write that must come after them and cannot wait for [`Batch::run`]
    /// (it reads back, or takes a lock whose order matters).
    pub async fn flush(&mut self, conn: &mut Conn) -> Result<()> {
        std::mem::replace(self, Batch::new(self.backend))
            .run(conn)
            .await
    }

    /// Runs every statement, in the order pushed.
    pub async fn run(self, conn: &mut Conn) -> Result<()> {
        match (self.backend, self.statements.len()) {
            (_, 0) => {}
            (Backend::Postgres, _) | (Backend::Sqlite, 1) => {
                for (sql, args, persistent) in self.statements {
                    sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                        .persistent(persistent)
                        .execute(&mut *conn)
                        .await?;
                }
            }
            (Backend::Sqlite, _) => {
                // Kept prepared whatever its statements asked: a statement
                // is left unprepared for PostgreSQL's sake (the Any
                // driver's NULL types), and re-preparing the whole text
                // each time cost more than the round trips it saves.
                let (sql, args) = joined(self.statements)?;
                sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok(())
    }
}

/// One text of the statements, `;` between them, every parameter made
/// anonymous (`?`) and its value laid out in the order the text names
/// them: SQLite binds anonymous parameters in turn across the statements
/// of one text, while a numbered one (`$N`) would name the N-th value of
/// the whole text, not of its statement.
fn joined(statements: Vec<(String, AnyArguments, bool)>) -> Result<(String, AnyArguments)> {
    let mut sql = String::with_capacity(statements.iter().map(|(t, _, _)| t.len() + 2).sum());
    let mut all = AnyArguments::default();
    all.values
        .0
        .reserve(statements.iter().map(|(_, a, _)| a.values.0.len()).sum());
    for (text, args, _) in statements {
        let values = args.values.0;
        let mut anonymous = 0;
        // The value a parameter names (`None`: the next anonymous one),
        // laid out after those before it.
        let mut take = |n: Option<usize>, all: &mut AnyArguments| -> Result<()> {
            let i = n.unwrap_or_else(|| {
                anonymous += 1;
                anonymous
            });
            let v = values.get(i.wrapping_sub(1)).cloned().ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "batched statement names parameter {i} of {}",
                    values.len()
                ))
            })?;
            all.values.0.push(v);
            Ok(())
        };
        // The text between parameters is copied whole, found with
        // `memchr`: every byte looked for is ASCII, so each cut falls
        // between characters. (Char by char, this was 2 % of the
        // centre's CPU during intake, its texts being a few kilobytes.)
        let bytes = text.as_bytes();
        let mut copied = 0;
        let mut i = 0;
        let mut double = memchr::memchr(b'"', bytes);
        loop {
            if double.is_some_and(|d| d < i) {
                double = memchr::memchr(b'"', &bytes[i..]).map(|d| i + d);
            }
            let other = memchr::memchr3(b'?', b'$', b'\'', &bytes[i..]).map(|k| i + k);
            let Some(k) = [other, double].into_iter().flatten().min() else {
                break;
            };
            match bytes[k] {
                q @ (b'\'' | b'"') => {
                    // Past the closing quote (a doubled quote closes and
                    // opens again), or to the end.
                    i = memchr::memchr(q, &bytes[k + 1..]).map_or(bytes.len(), |e| k + e + 2);
                }
                b'?' => {
                    sql.push_str(&text[copied..k]);
                    sql.push('?');
                    take(None, &mut all)?;
                    i = k + 1;
                    copied = i;
                }
                _ => {
                    let digits = bytes[k + 1..]
                        .iter()
                        .take_while(|d| d.is_ascii_digit())
                        .count();
                    i = k + 1 + digits;
                    if digits > 0 {
                        let n = bytes[k + 1..i]
                            .iter()
                            .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
                        sql.push_str(&text[copied..k]);
                        sql.push('?');
                        take(Some(n), &mut all)?;
                        copied = i;
                    }
                }
            }
        }
        sql.push_str(&text[copied..]);
        sql.push_str(";\n");
    }
    Ok((sql, all))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(values: &[i64]) -> AnyArguments {
        use sqlx::Arguments as _;
        let mut a = AnyArguments::default();
        for v in values {
            a.add(*v).unwrap();
        }
        a
    }

    fn ints(a: &AnyArguments) -> Vec<String> {
        a.values.0.iter().map(|v| format!("{v:?}")).collect()
    }

    #[test]
    fn parameters_become_anonymous_in_the_order_the_text_names_them() {
        let (sql, all) = joined(vec![
            (
                "UPDATE t SET a = $2 WHERE b = $1 OR c = $1".into(),
                args(&[10, 20]),
                true,
            ),
            (
                "INSERT INTO u VALUES (?, ?), (?, ?)".into(),
                args(&[1, 2, 3, 4]),
                true,
            ),
            (
                "INSERT INTO v VALUES ('$1 ?', \"?x\", $1)".into(),
                args(&[7]),
                true,
            ),
        ])
        .unwrap();
        assert_eq!(
            sql,
            "UPDATE t SET a = ? WHERE b = ? OR c = ?;\n\
             INSERT INTO u VALUES (?, ?), (?, ?);\n\
             INSERT INTO v VALUES ('$1 ?', \"?x\", ?);\n"
        );
        let expected: Vec<String> = [20, 10, 10, 1, 2, 3, 4, 7]
            .iter()
            .map(|v| format!("BigInt({v})"))
            .collect();
        assert_eq!(ints(&all), expected);
    }

    #[test]
    fn text_around_the_parameters_is_kept_whole() {
        // Characters of several bytes beside parameters, a `$` naming no
        // parameter, a parameter at the very end, a number of two digits.
        let (sql, all) = joined(vec![
            (
                "INSERT INTO h VALUES ('接诉即办 $1', $1, '$', $12)".into(),
                args(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
                true,
            ),
            ("SELECT '吹哨' || ?".into(), args(&[5]), true),
            // A doubled quote inside a string; a `$` at the very end.
            ("SELECT 'it''s ?' || ? || \"a?\" $".into(), args(&[6]), true),
        ])
        .unwrap();
        assert_eq!(
            sql,
            "INSERT INTO h VALUES ('接诉即办 $1', ?, '$', ?);\n\
             SELECT '吹哨' || ?;\n\
             SELECT 'it''s ?' || ? || \"a?\" $;\n"
        );
        let expected: Vec<String> = [1, 12, 5, 6]
            .iter()
            .map(|v| format!("BigInt({v})"))
            .collect();
        assert_eq!(ints(&all), expected);
    }

    #[test]
    fn a_parameter_without_its_value_is_refused() {
        let Err(err) = joined(vec![("SELECT $2".into(), args(&[1]), true)]) else {
            panic!("joined a parameter with no value");
        };
        assert!(err.to_string().contains("parameter 2 of 1"), "{err}");
    }
}
