//! Credentials on the command line: `hotline certs` (the mesh CA), and the
//! flags every process and client takes to prove who it is.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use hotline_identity::{Credentials, IssueOptions, MeshTls, Pki, Principal, Security, TlsFiles};

/// Where `hotline up` keeps the mesh CA by default.
pub const DEFAULT_PKI_DIR: &str = "hotline-data/pki";

/// How a process or client proves who it is.
#[derive(Args, Clone, Debug, Default)]
pub struct IdentityArgs {
    /// The mesh CA's directory: a service or gateway loads its own
    /// certificate there; a client holding the CA key presents each unit's.
    #[arg(long, env = "HOTLINE_PKI_DIR")]
    pub pki_dir: Option<PathBuf>,
    /// This holder's certificate (PEM), e.g. unit-t-harbour.crt.
    #[arg(long, env = "HOTLINE_CERT", requires_all = ["key", "ca"])]
    pub cert: Option<PathBuf>,
    /// This holder's private key (PEM).
    #[arg(long, env = "HOTLINE_KEY", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The mesh CA certificate to check the other end against.
    #[arg(long, env = "HOTLINE_CA", requires = "cert")]
    pub ca: Option<PathBuf>,
    /// The mesh's revocation list (reloaded when it changes).
    #[arg(long, env = "HOTLINE_CRL", requires = "cert")]
    pub crl: Option<PathBuf>,
    /// No TLS and no proof of who calls: every header is believed. For a
    /// bench on one machine only; it says so loudly.
    #[arg(long, env = "HOTLINE_INSECURE_PLAINTEXT")]
    pub insecure_plaintext: bool,
}

impl IdentityArgs {
    fn explicit(&self) -> Option<TlsFiles> {
        Some(TlsFiles {
            cert: self.cert.clone()?,
            key: self.key.clone()?,
            ca: self.ca.clone()?,
            crl: self.crl.clone(),
        })
    }

    /// A server process's identity: `holder`'s certificate in the PKI dir
    /// (default `<data_dir>/pki`) unless --cert names one.
    pub fn server(
        &self,
        holder: &Principal,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Security> {
        if self.insecure_plaintext {
            warn_plaintext();
            return Ok(Security::Plaintext);
        }
        let files = match self.explicit() {
            Some(files) => files,
            None => {
                let dir = self.pki_dir.clone().unwrap_or_else(|| data_dir.join("pki"));
                let files = Pki::open(&dir).files(holder);
                if !files.cert.exists() {
                    bail!(
                        "no certificate for {holder} in {}: run `hotline certs issue --{} {} --dir {}`, \
                         pass --cert/--key/--ca, or --insecure-plaintext",
                        dir.display(),
                        holder.kind(),
                        holder.name(),
                        dir.display()
                    );
                }
                files
            }
        };
        let tls = MeshTls::load(files)?;
        if &tls.principal() != holder {
            bail!("the certificate names {}, not {holder}", tls.principal());
        }
        Ok(Security::Mtls(tls))
    }

    /// A client's credentials: a holder's files, or the CA (which presents
    /// each unit's certificate), or plaintext.
    pub fn client(&self) -> anyhow::Result<Credentials> {
        if self.insecure_plaintext {
            warn_plaintext();
            return Ok(Credentials::Plaintext);
        }
        if let Some(files) = self.explicit() {
            return Ok(Credentials::Holder(MeshTls::load(files)?));
        }
        let dir = self
            .pki_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PKI_DIR));
        let pki = Pki::open(&dir);
        if !pki.exists() {
            bail!(
                "no credentials: pass --cert/--key/--ca (your unit's certificate), --pki-dir \
                 (the mesh CA, as `hotline up` made it; tried {}), or --insecure-plaintext",
                dir.display()
            );
        }
        Ok(Credentials::Mint(pki))
    }
}

pub use hotline_node::warn_plaintext;

#[derive(Subcommand)]
pub enum CertsCommand {
    /// Create the mesh CA and an empty revocation list (once).
    Init {
        #[arg(long, default_value = DEFAULT_PKI_DIR)]
        dir: PathBuf,
    },
    /// Issue a key and certificate naming a unit, a service or an operator.
    Issue {
        #[command(flatten)]
        holder: HolderArgs,
        #[arg(long, default_value = DEFAULT_PKI_DIR)]
        dir: PathBuf,
        /// Days it is valid.
        #[arg(long, default_value_t = hotline_identity::pki::DEFAULT_DAYS)]
        days: u32,
        /// Host names and IPs it may serve at (besides localhost, 127.0.0.1, ::1).
        #[arg(long = "host")]
        hosts: Vec<String>,
    },
    /// Create the CA (once) and a certificate for the gateway, every service
    /// and every operator of a topology, as `hotline up` does on first start.
    Provision {
        #[arg(long, default_value = DEFAULT_PKI_DIR)]
        dir: PathBuf,
        #[command(flatten)]
        topology: TopologyArg,
    },
    /// Revoke a holder's current certificate: the gateway and the services
    /// refuse it within a second, without a restart.
    Revoke {
        #[command(flatten)]
        holder: HolderArgs,
        #[arg(long, default_value = DEFAULT_PKI_DIR)]
        dir: PathBuf,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct HolderArgs {
    /// A unit's own system, e.g. t-harbour.
    #[arg(long)]
    pub unit: Option<String>,
    /// A mesh process: gateway, city, township, …
    #[arg(long)]
    pub service: Option<String>,
    /// A person on the operations staff, as the topology's [[operator]] names.
    #[arg(long)]
    pub operator: Option<String>,
    /// A channel front: `web` (`hotline web`), e.g. with `--host` the name
    /// browsers and Open311 clients reach it at behind the Ingress.
    #[arg(long)]
    pub channel: Option<String>,
}

impl HolderArgs {
    fn principal(&self) -> anyhow::Result<Principal> {
        let p = match (&self.unit, &self.service, &self.operator, &self.channel) {
            (Some(u), ..) => Principal::Unit(u.clone()),
            (_, Some(s), ..) => Principal::Service(s.clone()),
            (_, _, Some(o), _) => Principal::Operator(o.clone()),
            (.., Some(c)) => Principal::Channel(c.clone()),
            _ => bail!("name --unit, --service, --operator or --channel"),
        };
        if !hotline_core::authz::valid_name(p.name()) {
            bail!(
                "{}: {:?} is not a valid name (letters, digits, '-', '_', '.')",
                p.kind(),
                p.name()
            );
        }
        Ok(p)
    }
}

pub fn run(command: CertsCommand) -> anyhow::Result<()> {
    match command {
        CertsCommand::Init { dir } => {
            let pki = Pki::open(&dir);
            if pki.init()? {
                println!("mesh CA created: {}", pki.ca_cert().display());
            } else {
                println!("mesh CA already exists: {}", pki.ca_cert().display());
            }
            Ok(())
        }
        CertsCommand::Issue {
            holder,
            dir,
            days,
            hosts,
        } => {
            let principal = holder.principal()?;
            let pki = Pki::open(&dir);
            let mut opts = IssueOptions {
                days,
                ..IssueOptions::default()
            };
            opts.hosts.extend(hosts);
            let files = pki
                .issue(&principal, &opts)
                .with_context(|| format!("issue a certificate for {principal}"))?;
            println!("{principal}");
            println!("  certificate {}", files.cert.display());
            println!("  key         {}", files.key.display());
            println!("  CA          {}", files.ca.display());
            println!("  valid for   {days} days");
            Ok(())
        }
        CertsCommand::Provision { dir, topology } => {
            let path = topology.path_in(&dir)?;
            let topology = hotline_node::load_topology(&path)?;
            let pki = provision(&dir, &topology)?;
            println!(
                "mesh CA {} and certificates for the gateway, {} services and {} operators in {}",
                pki.ca_cert().display(),
                topology.services().len(),
                topology.operators().len(),
                dir.display()
            );
            Ok(())
        }
        CertsCommand::Revoke { holder, dir } => {
            let principal = holder.principal()?;
            let serial = Pki::open(&dir).revoke(&principal)?;
            println!(
                "revoked {principal} (serial {serial}); processes reload the list within a second"
            );
            Ok(())
        }
    }
}

pub use hotline_node::pki::{holder, provision};

/// Where a command reaches the mesh, and as whom.
#[derive(Args, Clone)]
pub struct GatewayArg {
    #[arg(long, env = "HOTLINE_GATEWAY", default_value = "http://127.0.0.1:7345")]
    pub gateway: String,
    /// The hotline centre's unit id.
    #[arg(long, default_value = "city")]
    pub city: String,
    #[command(flatten)]
    pub identity: IdentityArgs,
}

impl GatewayArg {
    /// A client of the gateway with these credentials.
    pub fn client(&self) -> anyhow::Result<hotline_client::MeshClient> {
        hotline_client::MeshClient::new(&self.gateway, &self.city, self.identity.client()?)
    }
}

/// The topology a command reads.
#[derive(Args, Clone)]
pub struct TopologyArg {
    /// Topology file (TOML); the built-in demo city when unset.
    #[arg(long)]
    pub topology: Option<PathBuf>,
}

impl TopologyArg {
    /// The topology file to use, writing the demo city to `dir` if none.
    pub fn path_in(&self, dir: &std::path::Path) -> anyhow::Result<PathBuf> {
        match &self.topology {
            Some(p) => Ok(p.clone()),
            None => {
                std::fs::create_dir_all(dir)?;
                let p = dir.join("demo-city.toml");
                std::fs::write(&p, hotline_node::DEMO_TOPOLOGY)?;
                Ok(p)
            }
        }
    }
}
