//! How alertscale authenticates to SCDF: none, a bearer token, HTTP Basic, or OAuth2's
//! client-credentials grant with the token cached until it expires.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

/// Refresh an OAuth2 token this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub enum Credentials {
    None,
    Bearer(String),
    Basic { user: String, password: String },
    OAuth2(OAuth2),
}

#[derive(Debug)]
pub struct OAuth2 {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
    /// The last token and when to stop using it; written by `token`, read by every request.
    cached: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl OAuth2 {
    pub fn new(
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    ) -> Self {
        OAuth2 {
            token_url,
            client_id,
            client_secret,
            scope,
            cached: Mutex::new(None),
        }
    }

    /// A valid access token, fetched with the client-credentials grant when none is cached.
    pub async fn token(&self, http: &reqwest::Client, timeout: Duration) -> Result<String, String> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        let response = http
            .post(&self.token_url)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&form)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("token request to `{}` failed: {e}", self.token_url))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "token endpoint `{}` answered {status}",
                self.token_url
            ));
        }
        let body: TokenResponse = response
            .json()
            .await
            .map_err(|e| format!("token endpoint `{}` sent no token: {e}", self.token_url))?;
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(300));
        let until = Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN);
        *cached = Some((body.access_token.clone(), until));
        Ok(body.access_token)
    }

    /// Forgets the cached token (after SCDF refused it).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

/// Reads a secret file, trimming the final newline that editors and `kubectl create secret`
/// leave.
pub fn read_secret(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

/// Reads a `user:password` file.
pub fn read_basic_auth(path: &Path) -> Result<(String, String), String> {
    let text = read_secret(path)?;
    let (user, password) = text
        .split_once(':')
        .ok_or_else(|| format!("`{}` must hold `user:password`", path.display()))?;
    Ok((user.to_string(), password.to_string()))
}
