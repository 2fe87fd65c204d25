//! The mesh's HTTP side (`hotline web`): Open311 GeoReport v2 at
//! `/open311/v2/` and the live dashboard at `/`, on one server.
//!
//! The web front is a mesh process of its own and a client of the gateway
//! like any departmental system: it holds its own certificate
//! (`spiffe://hotline/channel/web`) and reaches the centre only through
//! the gateway ([`centre::Centre`]), which lets it submit requests for the
//! online channels and read orders in the citizen's form, nothing more.
//!
//! Its HTTP listener ([`server`]) speaks TLS with the same certificate
//! when the mesh is mTLS, asks for a client certificate without requiring
//! one, and puts the proven [`Caller`] in every request's extensions: the
//! dashboard may require an operator; Open311 needs no certificate.

pub mod centre;
pub mod dashboard;
pub mod open311;
pub mod server;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use hotline_core::Topology;
use hotline_core::authz::Principal;
use hotline_identity::Security;

/// What every handler of the HTTP side shares: cheap to clone.
#[derive(Clone)]
pub struct WebState {
    /// The centre, reached through the gateway as the web front.
    pub centre: centre::Centre,
    /// The mesh's topology: the catalogue, the units and their names.
    pub topology: Arc<Topology>,
    pub config: Arc<Config>,
    /// The dashboard's reader of the mesh and its settings.
    pub dashboard: dashboard::Dashboard,
}

/// How the web front was started.
pub struct Config {
    /// Where its files are: the Open311 keys and token key
    /// (`DATA_DIR/open311/`).
    pub data_dir: PathBuf,
    /// The gateway's URL.
    pub gateway: String,
    /// mTLS (HTTPS with the mesh's certificate) or plaintext.
    pub security: Security,
    /// Open311's API keys and token signer.
    pub open311: open311::Open311,
}

impl WebState {
    /// The state for a web front on `topology`, reaching the gateway at
    /// `gateway`: the Open311 keys and token key are read from `data_dir`
    /// (made there on first start).
    pub fn new(
        topology: Arc<Topology>,
        gateway: &str,
        security: Security,
        data_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        let centre = centre::Centre::new(gateway, &security, &topology.city().id)?;
        let open311 = open311::Open311::open(&data_dir)?;
        let dashboard = dashboard::Dashboard::new(gateway, &security, &topology)?;
        Ok(Self {
            centre,
            dashboard,
            topology,
            config: Arc::new(Config {
                data_dir,
                gateway: gateway.to_string(),
                security,
                open311,
            }),
        })
    }
}

/// Every route of the HTTP side: Open311, then the dashboard.
pub fn router(state: WebState) -> axum::Router {
    axum::Router::new()
        .merge(open311::routes())
        .merge(dashboard::routes())
        .with_state(state)
}

/// Who calls the HTTP side, as [`server`] proved it: over mTLS the holder
/// of a client certificate from the mesh CA (checked against the
/// revocation list on every request), `None` without one; over plaintext
/// whoever `x-hotline-principal` claims (believed, as everywhere in a
/// plaintext mesh). A handler takes it as an extractor, or reads it from
/// the request's extensions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller(pub Option<Principal>);

impl Caller {
    /// The operator calling, if an operator calls.
    pub fn operator(&self) -> Option<&str> {
        match &self.0 {
            Some(Principal::Operator(name)) => Some(name),
            _ => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_default())
    }
}

/// What `hotline web --check` finds of the Open311 files in `data_dir`:
/// the keys file and the token key are read when there (an error names
/// what is wrong) and never written; missing, they are made on first start.
pub fn check_files(data_dir: &std::path::Path) -> anyhow::Result<String> {
    let keys = open311::keys::keys_file(data_dir);
    let token = open311::keys::dir(data_dir).join("token.key");
    let keys = if keys.exists() {
        open311::keys::Keys::load(&keys)?;
        format!("Open311 keys from {}", keys.display())
    } else {
        format!("Open311 keys to be made in {}", keys.display())
    };
    let token = if token.exists() {
        // Present: read only.
        open311::token::Tokens::open(data_dir)?;
        format!("token key from {}", token.display())
    } else {
        format!("token key to be made in {}", token.display())
    };
    Ok(format!("{keys}, {token}"))
}

/// Starts the web front: binds `listen`, says where on its first line of
/// standard output (`web listening on https://…`, how `hotline up` finds
/// a port-0 listener), and serves until `shutdown`. With a `metrics`
/// registry every request is measured there ([`server::HttpMetrics`]).
pub async fn run(
    state: WebState,
    listen: &str,
    metrics: Option<&hotline_telemetry::metrics::Registry>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("http listen: {listen}"))?;
    let scheme = if state.config.security.is_mtls() {
        "https"
    } else {
        "http"
    };
    let addr = listener.local_addr()?;
    println!("web listening on {scheme}://{addr}");
    tracing::info!(%addr, scheme, "web front listening");
    let security = state.config.security.clone();
    let mut app = router(state);
    if let Some(registry) = metrics {
        app = server::HttpMetrics::new(registry).layer(app);
    }
    server::serve(listener, security, app, shutdown).await
}
