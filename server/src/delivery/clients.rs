//! One HTTP client per endpoint, each with its own pool of kept-alive connections: attempts
//! to an endpoint reuse its connections instead of connecting each time, and one endpoint's
//! pool never holds or evicts another's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::egress::EgressPolicy;

/// How long an idle kept-alive connection stays open.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The clients of the endpoints, by endpoint id (rebuilt when the URL changes).
#[derive(Debug)]
pub(super) struct Clients {
    timeout: Duration,
    pool_size: usize,
    egress: Arc<EgressPolicy>,
    by_endpoint: HashMap<String, (String, reqwest::Client)>,
}

impl Clients {
    /// Clients with `timeout` per attempt, keeping up to `pool_size` idle connections each.
    pub(super) fn new(timeout: Duration, pool_size: usize, egress: Arc<EgressPolicy>) -> Self {
        Self {
            timeout,
            pool_size,
            egress,
            by_endpoint: HashMap::new(),
        }
    }

    /// The client of `endpoint`, whose URL is `url`.
    pub(super) fn get(
        &mut self,
        endpoint: &str,
        url: &str,
    ) -> Result<reqwest::Client, reqwest::Error> {
        if let Some((known, client)) = self.by_endpoint.get(endpoint)
            && known == url
        {
            return Ok(client.clone());
        }
        let client = build(self.timeout, self.pool_size, self.egress.clone())?;
        self.by_endpoint
            .insert(endpoint.to_owned(), (url.to_owned(), client.clone()));
        Ok(client)
    }

    /// Drops the clients (and their connections) of endpoints no longer enabled.
    pub(super) fn retain(&mut self, enabled: impl Fn(&str) -> bool) {
        self.by_endpoint.retain(|endpoint, _| enabled(endpoint));
    }
}

/// A delivery client: no redirects, names resolved under the egress policy only.
pub(super) fn build(
    timeout: Duration,
    pool_size: usize,
    egress: Arc<EgressPolicy>,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(pool_size)
        .pool_idle_timeout(IDLE_TIMEOUT)
        .tcp_nodelay(true)
        // Names resolve to the addresses the egress policy allows, and no others.
        .dns_resolver(Arc::new(crate::egress::PolicyResolver(egress)))
        .user_agent(concat!("fluxora-server/", env!("CARGO_PKG_VERSION")))
        .build()
}
