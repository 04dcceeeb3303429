//! The tenant of a request: the `X-Scope-OrgID` header (Cortex/Mimir's), `default` without it.
//!
//! A tenant id is part of every series' identity and of storage keys, so it is held to Mimir's
//! rules: 1 to 150 characters of `[a-zA-Z0-9!_.*'()-]`, and not `.` or `..`.

use axum::http::HeaderMap;

use super::error::ApiError;

/// The header naming the tenant.
pub const TENANT_HEADER: &str = "X-Scope-OrgID";
/// The tenant of requests without the header.
pub const DEFAULT_TENANT: &str = "default";
/// Longest tenant id.
pub const MAX_TENANT_LEN: usize = 150;

/// The request's tenant, checked.
pub fn tenant_of(headers: &HeaderMap) -> Result<String, ApiError> {
    tenant_from(headers.get(TENANT_HEADER).map(|value| value.as_bytes()))
}

/// The tenant named by a raw header value (`None`: no header), checked.
pub fn tenant_from(value: Option<&[u8]>) -> Result<String, ApiError> {
    let Some(value) = value else {
        return Ok(DEFAULT_TENANT.to_owned());
    };
    let invalid = || ApiError::InvalidTenant {
        tenant: String::from_utf8_lossy(value).into_owned(),
    };
    let tenant = std::str::from_utf8(value).map_err(|_| invalid())?;
    let valid = (1..=MAX_TENANT_LEN).contains(&tenant.len())
        && tenant != "."
        && tenant != ".."
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!-_.*'()".contains(&b));
    if valid {
        Ok(tenant.to_owned())
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(value: &str) -> Result<String, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert(TENANT_HEADER, value.parse().unwrap());
        tenant_of(&headers)
    }

    #[test]
    fn defaults_and_validates() {
        assert_eq!(tenant_of(&HeaderMap::new()).unwrap(), "default");
        assert_eq!(tenant("team-a_1.(x)*'!").unwrap(), "team-a_1.(x)*'!");
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(151)] {
            let mut headers = HeaderMap::new();
            headers.insert(
                TENANT_HEADER,
                axum::http::HeaderValue::from_bytes(bad.as_bytes()).unwrap(),
            );
            assert!(
                matches!(tenant_of(&headers), Err(ApiError::InvalidTenant { .. })),
                "{bad:?}"
            );
        }
    }
}
