//! Who may post notifications: optionally a bearer token (what Alertmanager sends with
//! `http_config.authorization.credentials`) and/or HTTP Basic credentials, compared in constant
//! time. With neither configured, everyone may.

use axum::http::HeaderMap;
use base64::Engine as _;
use subtle::ConstantTimeEq;

#[derive(Debug, Default, Clone)]
pub struct WebAuth {
    pub bearer_token: Option<String>,
    pub basic: Option<(String, String)>,
}

impl WebAuth {
    pub fn is_enabled(&self) -> bool {
        self.bearer_token.is_some() || self.basic.is_some()
    }

    /// Whether the request's `Authorization` header satisfies one configured method.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        if !self.is_enabled() {
            return true;
        }
        let Some(value) = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            if let Some(token) = &self.bearer_token {
                return bool::from(credentials.as_bytes().ct_eq(token.as_bytes()));
            }
        }
        if scheme.eq_ignore_ascii_case("basic") {
            if let Some((user, password)) = &self.basic {
                let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credentials)
                else {
                    return false;
                };
                let expected = format!("{user}:{password}");
                return bool::from(decoded.ct_eq(expected.as_bytes()));
            }
        }
        false
    }

    /// The `WWW-Authenticate` challenge for a 401.
    pub fn challenge(&self) -> &'static str {
        if self.basic.is_some() {
            "Basic realm=\"alertscale\""
        } else {
            "Bearer realm=\"alertscale\""
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn checks_bearer_and_basic() {
        let auth = WebAuth {
            bearer_token: Some("s3cret".into()),
            basic: Some(("am".into(), "pw:x".into())),
        };
        assert!(auth.allows(&headers("Bearer s3cret")));
        assert!(!auth.allows(&headers("Bearer s3cre")));
        assert!(!auth.allows(&HeaderMap::new()));
        let basic = base64::engine::general_purpose::STANDARD.encode("am:pw:x");
        assert!(auth.allows(&headers(&format!("Basic {basic}"))));
        assert!(!auth.allows(&headers("Basic !!!")));
        assert!(WebAuth::default().allows(&HeaderMap::new()));
    }
}
