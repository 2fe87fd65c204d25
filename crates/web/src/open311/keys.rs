//! Open311 API keys: each names the channel front a client posts as
//! (`web`, `app` or `mini_program`). The operator controls them in
//! `DATA_DIR/open311/keys.toml`, which holds only each key's SHA-256:
//!
//! ```toml
//! [[key]]
//! sha256 = "9f86d0…"
//! channel = "app"
//! label = "the city's app"
//! ```
//!
//! On first start the web front issues one key for the `web` channel and
//! writes it, the only copy in clear, to `DATA_DIR/open311/api-key`
//! (mode 0600) for the operator to hand out; `hotline web --issue-key
//! CHANNEL` issues more. The file is read again when it changes, so a key
//! issued or removed takes effect without a restart.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use anyhow::{Context as _, bail};
use hotline_core::Channel;
use hotline_core::authz::FRONTED_CHANNELS;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Where Open311's files live in a data dir.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("open311")
}

/// The keys file.
pub fn keys_file(data_dir: &Path) -> PathBuf {
    dir(data_dir).join("keys.toml")
}

/// The key issued on first start, in clear, for the operator.
pub fn first_key_file(data_dir: &Path) -> PathBuf {
    dir(data_dir).join("api-key")
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    key: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// SHA-256 of the key, lowercase hex.
    sha256: String,
    /// The channel requests posted with it arrive by.
    channel: String,
    #[serde(default)]
    label: String,
}

/// The keys in force, re-read when their file changes.
pub struct Keys {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

struct Loaded {
    stamp: Option<(SystemTime, u64)>,
    keys: Vec<(String, Channel)>,
}

impl Keys {
    /// The keys of `data_dir`; on first start (no keys file) one key for
    /// the web channel, issued and written to [`first_key_file`].
    pub fn provision(data_dir: &Path) -> anyhow::Result<Keys> {
        let path = keys_file(data_dir);
        if !path.exists() {
            let key = issue(data_dir, Channel::Web, "issued on first start")?;
            write_private(&first_key_file(data_dir), &format!("{key}\n"))?;
            tracing::info!(
                file = %first_key_file(data_dir).display(),
                "open311: first API key (web channel) written"
            );
        }
        Keys::load(&path)
    }

    /// The keys in `path`; an error names the file and the entry.
    pub fn load(path: &Path) -> anyhow::Result<Keys> {
        let loaded = read(path)?;
        Ok(Keys {
            path: path.to_path_buf(),
            loaded: Mutex::new(loaded),
        })
    }

    /// The channel `key` posts as; `None` for a key not issued (or removed).
    pub fn channel_of(&self, key: &str) -> Option<Channel> {
        let digest = digest(key);
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if stamp(&self.path) != loaded.stamp {
            match read(&self.path) {
                Ok(fresh) => *loaded = fresh,
                // Half-written or wrong: keep the keys we had.
                Err(e) => tracing::warn!(error = %e, "open311 keys changed but did not load"),
            }
        }
        loaded
            .keys
            .iter()
            .find(|(d, _)| constant_time_eq(d.as_bytes(), digest.as_bytes()))
            .map(|(_, c)| *c)
    }
}

/// Issues a new key for `channel`: its hash is added to the keys file of
/// `data_dir`; the key itself is returned, once.
pub fn issue(data_dir: &Path, channel: Channel, label: &str) -> anyhow::Result<String> {
    if !FRONTED_CHANNELS.contains(&channel) {
        bail!(
            "channel: {channel} is not one a channel front serves ({})",
            fronted()
        );
    }
    let path = keys_file(data_dir);
    let mut file = if path.exists() {
        parse(&path)?
    } else {
        File::default()
    };
    let key = format!("o311-{}", random_hex(32)?);
    file.key.push(Entry {
        sha256: digest(&key),
        channel: channel.as_str().to_string(),
        label: label.to_string(),
    });
    let text = format!(
        "# Open311 API keys: the SHA-256 of each key and the channel requests\n\
         # posted with it arrive by. `hotline web --issue-key CHANNEL` adds one.\n{}",
        toml::to_string(&file)?
    );
    std::fs::create_dir_all(dir(data_dir))?;
    let tmp = path.with_extension("tmp");
    write_private(&tmp, &text)?;
    std::fs::rename(&tmp, &path).with_context(|| format!("{}", path.display()))?;
    Ok(key)
}

fn fronted() -> String {
    FRONTED_CHANNELS
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse(path: &Path) -> anyhow::Result<File> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{}", path.display()))
}

fn read(path: &Path) -> anyhow::Result<Loaded> {
    let stamp = stamp(path);
    let file = parse(path)?;
    let mut keys = Vec::with_capacity(file.key.len());
    for (i, e) in file.key.iter().enumerate() {
        let channel = Channel::parse(&e.channel)
            .filter(|c| FRONTED_CHANNELS.contains(c))
            .with_context(|| {
                format!(
                    "{}: key {}: channel {:?} is not one a channel front serves ({})",
                    path.display(),
                    i + 1,
                    e.channel,
                    fronted()
                )
            })?;
        if e.sha256.len() != 64 || !e.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!(
                "{}: key {}: sha256 is not 64 hex digits",
                path.display(),
                i + 1
            );
        }
        keys.push((e.sha256.to_ascii_lowercase(), channel));
    }
    Ok(Loaded { stamp, keys })
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// SHA-256 of a key, lowercase hex: what the keys file keeps.
fn digest(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `bytes` bytes from the OS CSPRNG, in hex.
pub(crate) fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("os random source: {e}"))?;
    Ok(hex(&buf))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Writes a secret file readable by its owner only.
pub(crate) fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("{}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("{}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_first_start_issues_a_web_key_and_keeps_only_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::provision(dir.path()).unwrap();
        let key = std::fs::read_to_string(first_key_file(dir.path())).unwrap();
        let key = key.trim();
        assert!(key.starts_with("o311-") && key.len() == 69, "{key}");
        assert_eq!(keys.channel_of(key), Some(Channel::Web));
        assert_eq!(keys.channel_of("o311-nothing"), None);
        assert_eq!(keys.channel_of(""), None);
        let stored = std::fs::read_to_string(keys_file(dir.path())).unwrap();
        assert!(!stored.contains(key), "the keys file holds hashes only");
        assert!(stored.contains(&digest(key)));
        // A second start keeps the key.
        let again = Keys::provision(dir.path()).unwrap();
        assert_eq!(again.channel_of(key), Some(Channel::Web));
    }

    #[test]
    fn a_key_issued_later_is_taken_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keys::provision(dir.path()).unwrap();
        let app = issue(dir.path(), Channel::App, "the app").unwrap();
        assert_eq!(keys.channel_of(&app), Some(Channel::App));
        let e = issue(dir.path(), Channel::Phone, "")
            .unwrap_err()
            .to_string();
        assert!(e.contains("phone"), "{e}");
    }

    #[test]
    fn a_wrong_file_names_its_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = keys_file(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            format!(
                "[[key]]\nsha256 = \"{}\"\nchannel = \"phone\"\n",
                "0".repeat(64)
            ),
        )
        .unwrap();
        let e = Keys::load(&path).err().unwrap().to_string();
        assert!(e.contains("key 1") && e.contains("phone"), "{e}");
    }
}
