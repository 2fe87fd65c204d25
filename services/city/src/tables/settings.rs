//! The city's settings: named values kept once (the pseudonym key).

use hotline_store::{Conn, Result};

pub async fn setting(conn: &mut Conn, name: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Stores `value` unless the setting exists; returns the value in force.
pub async fn setting_or_insert(conn: &mut Conn, name: &str, value: &str) -> Result<String> {
    // Read first: the common case (the setting exists) writes nothing.
    if let Some(v) = setting(conn, name).await? {
        return Ok(v);
    }
    sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    Ok(setting(conn, name).await?.unwrap_or_default())
}
