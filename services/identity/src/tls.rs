//! One process's mesh credentials, reloaded from disk when they change: its
//! own key and certificate (rotated without a restart), the CA, and the
//! revocation list (a revoked peer is refused at its next handshake).
//!
//! Peers are checked by SPIFFE ID, not host name: a service's certificate
//! must name the service the caller meant to reach.

use std::fmt;
use std::fs;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Instant, SystemTime};

use anyhow::{Context as _, anyhow};
use hotline_core::authz::Principal;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore,
    ServerConfig, SignatureScheme,
    client::WebPkiServerVerifier,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::CryptoProvider,
    server::WebPkiClientVerifier,
    server::danger::{ClientCertVerified, ClientCertVerifier},
    sign::CertifiedKey,
};

use crate::pki::{Minted, TlsFiles};

/// How often, at most, the files are looked at for changes.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// A process's credentials and the CA it trusts.
pub struct MeshTls {
    files: TlsFiles,
    /// A key and certificate minted in memory, in place of the files'.
    minted: Option<Minted>,
    provider: Arc<CryptoProvider>,
    loaded: RwLock<Arc<Loaded>>,
    checked: Mutex<Instant>,
}

impl fmt::Debug for MeshTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeshTls")
            .field("files", &self.files)
            .field("principal", &self.current().principal)
            .finish()
    }
}

struct Loaded {
    stamps: Vec<Option<(SystemTime, u64)>>,
    /// Serials on the revocation list, for connections made before it.
    revoked: std::collections::HashSet<Vec<u8>>,
    principal: Principal,
    key: Arc<CertifiedKey>,
    clients: Arc<dyn ClientCertVerifier>,
    servers: Arc<WebPkiServerVerifier>,
}

impl MeshTls {
    /// Loads the files now; an error names the file that is wrong.
    pub fn load(files: TlsFiles) -> anyhow::Result<Arc<Self>> {
        Self::with(files, None)
    }

    /// A key and certificate minted in memory ([`crate::Pki::mint`]), with
    /// the CA and the revocation list of `files` (reloaded as
    /// [`MeshTls::load`] reloads them).
    pub fn minted(files: TlsFiles, minted: Minted) -> anyhow::Result<Arc<Self>> {
        Self::with(files, Some(minted))
    }

    fn with(files: TlsFiles, minted: Option<Minted>) -> anyhow::Result<Arc<Self>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let loaded = load(&files, minted.as_ref(), &provider)?;
        Ok(Arc::new(Self {
            files,
            minted,
            provider,
            loaded: RwLock::new(Arc::new(loaded)),
            checked: Mutex::new(Instant::now()),
        }))
    }

    /// Who this process is, by its certificate.
    pub fn principal(&self) -> Principal {
        self.current().principal.clone()
    }

    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// Whether a peer proven earlier may still be believed: its
    /// certificate is not on the revocation list (as it is now) and has
    /// not expired. Checked on every call, since a connection outlives
    /// its handshake.
    pub fn still_valid(&self, peer: &crate::Peer) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        now < peer.not_after && !self.current().revoked.contains(&peer.serial)
    }

    /// The credentials as they are on disk (looked at once a second).
    fn current(&self) -> Arc<Loaded> {
        let due = {
            let mut checked = self.checked.lock().unwrap_or_else(PoisonError::into_inner);
            if checked.elapsed() >= RECHECK {
                *checked = Instant::now();
                true
            } else {
                false
            }
        };
        let loaded = self
            .loaded
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if !due || stamps(&self.files) == loaded.stamps {
            return loaded;
        }
        match load(&self.files, self.minted.as_ref(), &self.provider) {
            Ok(fresh) => {
                tracing::info!(principal = %fresh.principal, "mesh credentials reloaded");
                let fresh = Arc::new(fresh);
                *self.loaded.write().unwrap_or_else(PoisonError::into_inner) = fresh.clone();
                fresh
            }
            Err(e) => {
                // Half-written or wrong: keep serving with what we had.
                tracing::warn!(error = %e, "mesh credentials changed but did not load; keeping the old ones");
                loaded
            }
        }
    }

    /// A server config that demands a client certificate from the mesh CA.
    pub fn server_config(self: &Arc<Self>) -> anyhow::Result<Arc<ServerConfig>> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(Arc::new(Clients(self.clone())))
            .with_cert_resolver(Arc::new(Own(self.clone())));
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }

    /// A client config presenting this process's certificate; the server
    /// must be `expect` when given, else any holder from the mesh CA.
    pub fn client_config(
        self: &Arc<Self>,
        expect: Option<Principal>,
    ) -> anyhow::Result<Arc<ClientConfig>> {
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Servers {
                tls: self.clone(),
                expect,
            }))
            .with_client_cert_resolver(Arc::new(Own(self.clone())));
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

/// The holder a certificate names in its SAN URI.
pub fn principal_of(cert: &[u8]) -> Option<Principal> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|name| match name {
        x509_parser::extensions::GeneralName::URI(uri) => Principal::from_spiffe_id(uri),
        _ => None,
    })
}

fn stamps(files: &TlsFiles) -> Vec<Option<(SystemTime, u64)>> {
    [
        Some(&files.ca),
        Some(&files.cert),
        Some(&files.key),
        files.crl.as_ref(),
    ]
    .into_iter()
    .map(|p| {
        let meta = fs::metadata(p?).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    })
    .collect()
}

fn load(
    files: &TlsFiles,
    minted: Option<&Minted>,
    provider: &Arc<CryptoProvider>,
) -> anyhow::Result<Loaded> {
    let stamps = stamps(files);
    let (certs, key, cert_name, key_name) = match minted {
        Some(m) => (
            CertificateDer::pem_slice_iter(m.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .context("parse the minted certificate")?,
            PrivateKeyDer::from_pem_slice(m.key_pem.as_bytes()).context("read the minted key")?,
            "the minted certificate".to_owned(),
            "the minted key".to_owned(),
        ),
        None => {
            let (cert_name, key_name) = (
                files.cert.display().to_string(),
                files.key.display().to_string(),
            );
            let certs = CertificateDer::pem_file_iter(&files.cert)
                .with_context(|| format!("read {cert_name}"))?
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("parse {cert_name}"))?;
            let key = PrivateKeyDer::from_pem_file(&files.key)
                .with_context(|| format!("read {key_name}"))?;
            (certs, key, cert_name, key_name)
        }
    };
    let leaf = certs
        .first()
        .ok_or_else(|| anyhow!("{cert_name} holds no certificate"))?;
    let principal = principal_of(leaf)
        .ok_or_else(|| anyhow!("{cert_name} names no spiffe://hotline/ holder in its SAN"))?;
    let signer = provider
        .key_provider
        .load_private_key(key)
        .with_context(|| format!("load {key_name}"))?;
    let key = CertifiedKey::new(certs, signer);
    key.keys_match()
        .with_context(|| format!("{key_name} is not the key of {cert_name}"))?;

    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(&files.ca)
        .with_context(|| format!("read {}", files.ca.display()))?
    {
        roots
            .add(ca.with_context(|| format!("parse {}", files.ca.display()))?)
            .with_context(|| format!("{} is not a CA certificate", files.ca.display()))?;
    }
    let roots = Arc::new(roots);
    let crls = match &files.crl {
        Some(path) if path.exists() => vec![
            CertificateRevocationListDer::from_pem_file(path)
                .with_context(|| format!("read {}", path.display()))?,
        ],
        _ => Vec::new(),
    };
    let revoked = crls
        .iter()
        .filter_map(|crl| x509_parser::parse_x509_crl(crl).ok())
        .flat_map(|(_, crl)| {
            crl.iter_revoked_certificates()
                .map(|r| r.raw_serial().to_vec())
                .collect::<Vec<_>>()
        })
        .collect();
    let clients = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .with_crls(crls.clone())
        .only_check_end_entity_revocation()
        .build()
        .context("client verifier")?;
    let servers = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .with_crls(crls)
        .only_check_end_entity_revocation()
        .build()
        .context("server verifier")?;
    Ok(Loaded {
        stamps,
        revoked,
        principal,
        key: Arc::new(key),
        clients,
        servers,
    })
}

impl MeshTls {
    // Handshake signatures depend on the crypto provider only, not on the
    // CA or the revocation list: both verifiers check them here.
    fn verify_tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl Clients {
    fn tls(&self) -> &MeshTls {
        &self.0
    }
}

impl Servers {
    fn tls(&self) -> &MeshTls {
        &self.tls
    }
}

/// Serves this process's own certificate, as it is now.
#[derive(Debug)]
struct Own(Arc<MeshTls>);

impl rustls::server::ResolvesServerCert for Own {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current().key.clone())
    }
}

impl rustls::client::ResolvesClientCert for Own {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current().key.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Checks a client's chain against the CA and the revocation list, and
/// that it names a holder.
#[derive(Debug)]
struct Clients(Arc<MeshTls>);

impl ClientCertVerifier for Clients {
    /// A client without a certificate completes the handshake with no
    /// principal, so that each call can be refused with a gRPC status
    /// naming the problem (UNAUTHENTICATED) rather than a broken
    /// connection; a certificate it does present must verify.
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.0
            .current()
            .clients
            .verify_client_cert(end_entity, intermediates, now)?;
        if principal_of(end_entity).is_none() {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls().verify_tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls().verify_tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.tls().schemes()
    }
}

/// Checks a server's chain against the CA and the revocation list, then
/// its SPIFFE ID instead of its host name.
#[derive(Debug)]
struct Servers {
    tls: Arc<MeshTls>,
    expect: Option<Principal>,
}

impl ServerCertVerifier for Servers {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.tls.current().servers.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verified {
            Ok(_) => {}
            // The chain and revocation were checked before the name.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => {}
            Err(e) => return Err(e),
        }
        let holder = principal_of(end_entity);
        match (&self.expect, holder) {
            (_, None) => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
            (Some(expect), Some(holder)) if &holder != expect => {
                tracing::warn!(%expect, %holder, "peer is not the service expected");
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ))
            }
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls().verify_tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.tls().verify_tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.tls().schemes()
    }
}
