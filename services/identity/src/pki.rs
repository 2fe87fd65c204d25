//! The mesh CA on disk: `ca.key`, `ca.crt`, the revocation list `ca.crl`
//! (and `revoked.txt`, the list it is made from), and each holder's
//! `<kind>-<name>.key` / `.crt`, whose SAN URI names the holder
//! (`spiffe://hotline/unit/t-harbour`).
//!
//! Every file is written to a temporary name and renamed into place, so a
//! process reloading its certificate never reads half of one.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use hotline_core::authz::Principal;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

pub const CA_CERT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";
pub const CRL: &str = "ca.crl";
const REVOKED: &str = "revoked.txt";

/// How long a certificate issued without `--days` lasts.
pub const DEFAULT_DAYS: u32 = 90;
/// How long the CA lasts.
const CA_DAYS: i64 = 3650;

/// Where a holder's key and certificate are, with the CA and CRL to check
/// its peers against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub crl: Option<PathBuf>,
}

/// A key and certificate issued in memory ([`Pki::mint`]), PEM-encoded.
pub struct Minted {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of any log.
        f.debug_struct("Minted").finish_non_exhaustive()
    }
}

/// What a new certificate carries besides its holder.
#[derive(Debug, Clone)]
pub struct IssueOptions {
    pub days: u32,
    /// DNS names and IP addresses it may serve as, for clients that check
    /// host names (grpcio, tonic's `ClientTlsConfig`).
    pub hosts: Vec<String>,
}

impl Default for IssueOptions {
    fn default() -> Self {
        Self {
            days: DEFAULT_DAYS,
            hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
        }
    }
}

/// The mesh CA in one directory.
#[derive(Debug, Clone)]
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    pub fn open(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join(CA_CERT)
    }

    pub fn crl(&self) -> PathBuf {
        self.dir.join(CRL)
    }

    /// Whether the CA exists here.
    pub fn exists(&self) -> bool {
        self.dir.join(CA_KEY).exists() && self.ca_cert().exists()
    }

    /// Creates the CA and an empty revocation list, unless they exist.
    /// Returns whether it created them.
    pub fn init(&self) -> anyhow::Result<bool> {
        if self.exists() {
            if !self.crl().exists() {
                self.write_crl()?;
            }
            return Ok(false);
        }
        fs::create_dir_all(&self.dir).with_context(|| format!("create {}", self.dir.display()))?;
        restrict_dir(&self.dir)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "hotline mesh CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(CA_DAYS);
        params.serial_number = Some(random_serial()?);
        let cert = params.self_signed(&key)?;
        write_private(&self.dir.join(CA_KEY), key.serialize_pem().as_bytes())?;
        write_atomic(&self.ca_cert(), cert.pem().as_bytes())?;
        let _ = fs::remove_file(self.dir.join(REVOKED));
        self.write_crl()?;
        Ok(true)
    }

    fn issuer(&self) -> anyhow::Result<Issuer<'static, KeyPair>> {
        if !self.exists() {
            bail!(
                "no mesh CA in {} (run `hotline certs init --dir {}`)",
                self.dir.display(),
                self.dir.display()
            );
        }
        let key = KeyPair::from_pem(&read(&self.dir.join(CA_KEY))?)?;
        Ok(Issuer::from_ca_cert_pem(&read(&self.ca_cert())?, key)?)
    }

    /// Where `principal`'s files are (or would be).
    pub fn files(&self, principal: &Principal) -> TlsFiles {
        let stem = principal.file_stem();
        TlsFiles {
            ca: self.ca_cert(),
            cert: self.dir.join(format!("{stem}.crt")),
            key: self.dir.join(format!("{stem}.key")),
            crl: Some(self.crl()),
        }
    }

    /// Issues a fresh key and certificate for `principal`, replacing any.
    pub fn issue(&self, principal: &Principal, opts: &IssueOptions) -> anyhow::Result<TlsFiles> {
        let minted = self.mint(principal, opts)?;
        let files = self.files(principal);
        // The key first: a reader that sees the new certificate with the
        // old key fails to load and keeps what it had until the next look.
        write_private(&files.key, minted.key_pem.as_bytes())?;
        write_atomic(&files.cert, minted.cert_pem.as_bytes())?;
        Ok(files)
    }

    /// A fresh key and certificate for `principal`, kept in memory only:
    /// for a holder of the CA acting as many units in one run (the
    /// simulator, the demo), which needs no file, no fsync and no reading
    /// back for each unit it acts as ([`crate::MeshTls::minted`]).
    pub fn mint(&self, principal: &Principal, opts: &IssueOptions) -> anyhow::Result<Minted> {
        if opts.days == 0 {
            bail!("days: a certificate must last at least a day");
        }
        let issuer = self.issuer()?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, principal.path());
        let mut sans = vec![SanType::URI(principal.spiffe_id().try_into()?)];
        for host in &opts.hosts {
            sans.push(match host.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(host.clone().try_into()?),
            });
        }
        params.subject_alt_names = sans;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::minutes(5);
        params.not_after = now + Duration::days(i64::from(opts.days));
        params.serial_number = Some(random_serial()?);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Minted {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The holder's files, issued anew when missing, not from this CA, or
    /// past two thirds of their life.
    pub fn ensure(&self, principal: &Principal, opts: &IssueOptions) -> anyhow::Result<TlsFiles> {
        let files = self.files(principal);
        if files.key.exists() && self.current(&files.cert)? {
            return Ok(files);
        }
        self.issue(principal, opts)
    }

    /// Whether `cert` was issued by this CA and has a third of its life left.
    fn current(&self, cert: &Path) -> anyhow::Result<bool> {
        let Ok(pem) = fs::read(cert) else {
            return Ok(false);
        };
        let ca_pem = fs::read(self.ca_cert())?;
        let (Ok((_, leaf)), Ok((_, ca))) = (
            x509_parser::pem::parse_x509_pem(&pem),
            x509_parser::pem::parse_x509_pem(&ca_pem),
        ) else {
            return Ok(false);
        };
        let (Ok(leaf), Ok(ca)) = (leaf.parse_x509(), ca.parse_x509()) else {
            return Ok(false);
        };
        if leaf.verify_signature(Some(ca.public_key())).is_err() {
            return Ok(false);
        }
        if self
            .revoked_serials()?
            .contains(&leaf.raw_serial().to_vec())
        {
            return Ok(false);
        }
        let validity = leaf.validity();
        let start = validity.not_before.timestamp();
        let end = validity.not_after.timestamp();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        Ok(now < end - (end - start) / 3)
    }

    /// Revokes `principal`'s current certificate: it goes on the list the
    /// gateway and the services reload. Returns the serial revoked.
    pub fn revoke(&self, principal: &Principal) -> anyhow::Result<String> {
        let files = self.files(principal);
        let pem = fs::read(&files.cert).with_context(|| {
            format!("no certificate for {principal} at {}", files.cert.display())
        })?;
        let (_, parsed) = x509_parser::pem::parse_x509_pem(&pem)
            .map_err(|e| anyhow::anyhow!("{}: {e}", files.cert.display()))?;
        let cert = parsed.parse_x509()?;
        let serial = hex(cert.raw_serial());
        let line = format!(
            "{serial} {} {}\n",
            OffsetDateTime::now_utc().unix_timestamp(),
            principal.spiffe_id()
        );
        let path = self.dir.join(REVOKED);
        let mut list = fs::read_to_string(&path).unwrap_or_default();
        if !list
            .lines()
            .any(|l| l.split(' ').next() == Some(serial.as_str()))
        {
            list.push_str(&line);
            write_atomic(&path, list.as_bytes())?;
        }
        self.write_crl()?;
        Ok(serial)
    }

    fn revoked(&self) -> anyhow::Result<Vec<(Vec<u8>, i64)>> {
        let list = fs::read_to_string(self.dir.join(REVOKED)).unwrap_or_default();
        list.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut parts = l.split(' ');
                let serial = unhex(parts.next().unwrap_or_default())
                    .with_context(|| format!("{REVOKED}: bad serial in {l:?}"))?;
                let at = parts
                    .next()
                    .and_then(|t| t.parse().ok())
                    .with_context(|| format!("{REVOKED}: bad time in {l:?}"))?;
                Ok((serial, at))
            })
            .collect()
    }

    fn revoked_serials(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        Ok(self.revoked()?.into_iter().map(|(s, _)| s).collect())
    }

    /// Signs the revocation list anew from `revoked.txt`.
    fn write_crl(&self) -> anyhow::Result<()> {
        let issuer = self.issuer()?;
        let revoked = self.revoked()?;
        let now = OffsetDateTime::now_utc();
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(5),
            next_update: now + Duration::days(CA_DAYS),
            crl_number: SerialNumber::from_slice(&now.unix_timestamp().to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .into_iter()
                .map(|(serial, at)| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&serial),
                    revocation_time: OffsetDateTime::from_unix_timestamp(at).unwrap_or(now),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&issuer)?;
        write_atomic(&self.crl(), crl.pem()?.as_bytes())
    }
}

/// 16 random bytes from the OS, positive as DER wants.
fn random_serial() -> anyhow::Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random source: {e}"))?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with_mode(path, bytes, 0o644)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with_mode(path, bytes, 0o600)
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("write {}", tmp.display()))?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    fs::rename(&tmp, path).with_context(|| format!("write {}", path.display()))
}

fn restrict_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restrict {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_round_trip_through_hex() {
        let bytes = vec![0x01, 0xab, 0x00, 0xff];
        assert_eq!(unhex(&hex(&bytes)), Some(bytes));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
