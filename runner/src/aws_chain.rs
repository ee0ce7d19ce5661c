//! Where requests go and as whom. A flag given wins; what the flags leave open comes from the
//! standard AWS chain (the aws-config crate), as the AWS CLI and SDKs read it:
//!
//! - endpoint: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, then the profile's `services`
//!   section for s3 and its `endpoint_url` (`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` turns
//!   these off);
//! - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region`, else us-east-1;
//! - keys: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, then the
//!   profile's keys or its `credential_process`.
//!
//! The profile is `--profile`, else `AWS_PROFILE`, else `default`, in the files that
//! `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` name (`~/.aws/config`,
//! `~/.aws/credentials`). aws-config is built without an HTTP client: profiles that need one
//! (SSO, assume-role, instance metadata) are refused with the chain's reason.

use anyhow::{anyhow, bail, Result};
use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::ProvideRegion;
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};
use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::os_shim_internal::{Env, Fs};
use aws_types::service_config::ServiceConfigKey;
use std::borrow::Cow;

/// The region when neither a flag nor the chain names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// What the flags say (None: not given).
#[derive(Default, Clone, Copy)]
pub struct Flags<'a> {
    pub endpoint: Option<&'a str>,
    pub region: Option<&'a str>,
    pub access_key: Option<&'a str>,
    pub secret_key: Option<&'a str>,
    pub session_token: Option<&'a str>,
}

/// Where the settings the flags leave open are looked up.
#[derive(Clone, Copy)]
pub enum Chain<'a> {
    /// The environment, then a profile (this one, else `AWS_PROFILE`, else `default`).
    Standard { profile: Option<&'a str> },
    /// This profile only: the environment's keys and region are meant for another endpoint.
    Profile(&'a str),
}

/// Keys to sign with.
#[derive(Clone)]
pub struct Keys {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Keys {
    // The access key id is not secret (it is in every signed request); the rest is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("access_key", &self.access_key)
            .field("secret_key", &"[redacted]")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// The endpoint and region once flags and chain are read, and where the keys will come from.
pub struct Settings {
    pub endpoint: Option<String>,
    pub region: String,
    /// `endpoint from AWS_ENDPOINT_URL_S3`, …: for the run's first lines (no secret in them).
    pub origins: Vec<String>,
    /// The profile the chain reads (named in messages).
    pub profile: String,
    profile_missing: bool,
    keys: KeySource,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("origins", &self.origins)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

enum KeySource {
    Flags(Keys),
    Chain(SharedCredentialsProvider, String),
    /// A profile named by a flag that the files do not hold.
    Missing(String),
    /// A profile whose keys need what this build lacks: why.
    Refused(String),
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

/// Reads the chain for what the flags leave open. Nothing here makes a network request.
pub async fn resolve(flags: Flags<'_>, chain: Chain<'_>) -> Result<Settings> {
    let named = match chain {
        Chain::Standard { profile } => profile,
        Chain::Profile(name) => Some(name),
    };
    let profiles = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &Default::default(),
        named.map(|n| Cow::Owned(n.to_string())),
    )
    .await
    .map_err(|e| anyhow!("the AWS config files: {}", DisplayErrorContext(&e)))?;
    let profile = profiles.selected_profile().to_string();
    let missing = named.is_some() && profiles.get_profile(&profile).is_none();
    // Region and keys come from providers that need no HTTP client (aws-config's default
    // chains build an instance-metadata client, which needs one).
    let conf = ProviderConfig::default().with_http_client(no_http());
    let file_region = ProfileFileRegionProvider::builder()
        .configure(&conf)
        .profile_name(&profile)
        .build()
        .region()
        .await;
    let env_region = match chain {
        Chain::Standard { .. } => EnvironmentVariableRegionProvider::new().region().await,
        Chain::Profile(_) => None,
    };
    let file_keys = ProfileFileCredentialsProvider::builder()
        .configure(&conf)
        .profile_name(&profile)
        .build();
    let provider = match chain {
        Chain::Standard { .. } => SharedCredentialsProvider::new(
            CredentialsProviderChain::first_try(
                "environment",
                EnvironmentVariableCredentialsProvider::new(),
            )
            .or_else("profile", file_keys),
        ),
        Chain::Profile(_) => SharedCredentialsProvider::new(file_keys),
    };
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(no_http())
        .profile_name(&profile)
        .region(Region::new(DEFAULT_REGION))
        .credentials_provider(provider.clone());
    if let Some(region) = env_region.clone().or_else(|| file_region.clone()) {
        loader = loader.region(region);
    }
    let sdk = loader.load().await;
    // What the profile needs an HTTP client for (a role to assume, SSO, a web identity):
    // refused by name rather than half-tried.
    let needs_http = profiles.get_profile(&profile).and_then(|p| {
        [
            "role_arn",
            "sso_session",
            "sso_start_url",
            "web_identity_token_file",
            "credential_source",
            "login_session",
        ]
        .into_iter()
        .find(|key| p.get(key).is_some())
    });
    let mut origins = Vec::new();

    let endpoint = match non_empty(flags.endpoint) {
        Some(url) => {
            origins.push("endpoint from the command line".to_string());
            Some(url.to_string())
        }
        None => match chain {
            Chain::Standard { .. } => {
                let found = s3_endpoint(&sdk);
                if found.is_some() {
                    let from = if env_set("AWS_ENDPOINT_URL_S3") {
                        "AWS_ENDPOINT_URL_S3".to_string()
                    } else if env_set("AWS_ENDPOINT_URL") {
                        "AWS_ENDPOINT_URL".to_string()
                    } else {
                        format!("profile {profile}")
                    };
                    origins.push(format!("endpoint from {from}"));
                }
                found
            }
            Chain::Profile(_) => None,
        },
    };

    let region = match (non_empty(flags.region), env_region, file_region) {
        (Some(r), _, _) => {
            origins.push("region from --region".into());
            r.to_string()
        }
        (None, Some(r), _) => {
            let from = if env_set("AWS_REGION") {
                "AWS_REGION"
            } else {
                "AWS_DEFAULT_REGION"
            };
            origins.push(format!("region from {from}"));
            r.to_string()
        }
        (None, None, Some(r)) => {
            origins.push(format!("region from profile {profile}"));
            r.to_string()
        }
        (None, None, None) => {
            origins.push(format!("region {DEFAULT_REGION} (none configured)"));
            DEFAULT_REGION.to_string()
        }
    };

    let keys = match (non_empty(flags.access_key), non_empty(flags.secret_key)) {
        (Some(access_key), Some(secret_key)) => KeySource::Flags(Keys {
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            session_token: non_empty(flags.session_token).map(str::to_string),
        }),
        (Some(_), None) | (None, Some(_)) => {
            bail!("--access-key and --secret-key go together: give both, or neither to use the AWS chain")
        }
        (None, None) if missing => KeySource::Missing(profile.clone()),
        (None, None) => {
            let from_env = matches!(chain, Chain::Standard { .. }) && env_set("AWS_ACCESS_KEY_ID");
            match needs_http {
                Some(key) if !from_env => KeySource::Refused(format!(
                    "profile {profile} uses {key}, which needs an AWS HTTP client this build \
                     does not have: give the profile keys or a credential_process, or set \
                     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                )),
                _ if from_env => {
                    KeySource::Chain(provider, "the environment (AWS_ACCESS_KEY_ID)".to_string())
                }
                _ => KeySource::Chain(provider, format!("profile {profile}")),
            }
        }
    };
    Ok(Settings {
        endpoint,
        region,
        origins,
        profile,
        profile_missing: missing,
        keys,
    })
}

/// aws-config without an HTTP client panics where a provider would need one (instance
/// metadata, STS, SSO): this one answers every request with an error instead. The profiles
/// that need it are refused before (see `needs_http`).
#[derive(Debug)]
struct NoHttp;

impl HttpConnector for NoHttp {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Err(ConnectorError::other(
            "this build has no AWS HTTP client: SSO, assume-role and instance metadata are not supported"
                .into(),
            None,
        )))
    }
}

fn no_http() -> SharedHttpClient {
    http_client_fn(|_, _| SharedHttpConnector::new(NoHttp))
}

/// The endpoint the SDK's S3 client would use: the S3-specific settings first, then the
/// general ones.
fn s3_endpoint(sdk: &SdkConfig) -> Option<String> {
    let key = ServiceConfigKey::builder()
        .service_id("S3")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    sdk.service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| sdk.endpoint_url().map(str::to_string))
        .filter(|url| !url.trim().is_empty())
}

impl Settings {
    /// A profile was named that neither file holds.
    pub fn profile_missing(&self) -> bool {
        self.profile_missing
    }

    /// The keys: from the flags, or asked of the chain now. The error says which sources
    /// were tried, never a secret.
    pub async fn keys(&self) -> Result<(Keys, String)> {
        match &self.keys {
            KeySource::Flags(keys) => Ok((keys.clone(), "--access-key and --secret-key".into())),
            KeySource::Missing(profile) => bail!(
                "no profile {profile:?} in the AWS config or credentials file \
                 (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE; ~/.aws/config, ~/.aws/credentials)"
            ),
            KeySource::Refused(why) => bail!("{why}"),
            KeySource::Chain(provider, from) => {
                let credentials = provider.provide_credentials().await.map_err(|e| {
                    anyhow!(
                        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give \
                         --access-key and --secret-key, or name a profile with keys \
                         (--profile, AWS_PROFILE; profile {:?} was read): {}",
                        self.profile,
                        DisplayErrorContext(&e)
                    )
                })?;
                let keys = Keys {
                    access_key: credentials.access_key_id().to_string(),
                    secret_key: credentials.secret_access_key().to_string(),
                    session_token: credentials.session_token().map(str::to_string),
                };
                Ok((keys, from.clone()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_names_no_secret() {
        let keys = Keys {
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI-SECRET".into(),
            session_token: Some("TOKEN-SECRET".into()),
        };
        let text = format!("{keys:?}");
        assert!(text.contains("AKIDEXAMPLE"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
    }

    #[tokio::test]
    async fn flags_are_taken_as_given_and_half_a_key_pair_is_refused() {
        let flags = Flags {
            endpoint: Some("http://127.0.0.1:9"),
            region: Some("eu-west-3"),
            access_key: Some("AK"),
            secret_key: Some("SK"),
            session_token: None,
        };
        // A named profile that no file holds: the flags still win for every setting.
        let chain = Chain::Standard {
            profile: Some("no-such-profile-in-any-file"),
        };
        let settings = resolve(flags, chain).await.unwrap();
        assert_eq!(settings.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(settings.region, "eu-west-3");
        let (keys, from) = settings.keys().await.unwrap();
        assert_eq!(
            (keys.access_key.as_str(), keys.secret_key.as_str()),
            ("AK", "SK")
        );
        assert!(from.contains("--access-key"), "{from}");

        let half = Flags {
            secret_key: None,
            ..flags
        };
        let error = resolve(half, chain).await.unwrap_err().to_string();
        assert!(error.contains("go together"), "{error}");
    }
}
