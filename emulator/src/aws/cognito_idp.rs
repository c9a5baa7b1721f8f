//! Amazon Cognito's control plane (`AWSCognitoIdentityProviderService.*`, AWS JSON 1.1) for the
//! calls the course makes: user pools and their domains, app clients, groups and users, and
//! signing a user out. Request fields, response shapes and error codes follow the service
//! model; what they change is the lab's [`Directory`], which the hosted UI and the token
//! endpoint read at their next request.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{ApiError, lower_first, strings};
use crate::cognito::Cognito;
use crate::cognito::directory::{
    ACCOUNT, Client, Directory, Domain, Group, MAX_CLIENTS, MAX_GROUPS, MAX_POOLS, MAX_USERS, Pool,
    PoolUser, epoch,
};
use crate::state::{random_alnum, uuid};

pub struct CognitoIdp {
    cognito: Arc<Cognito>,
}

impl std::fmt::Debug for CognitoIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CognitoIdp")
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameterException", message)
}

fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new("ResourceNotFoundException", message)
}

fn no_user() -> ApiError {
    ApiError::new("UserNotFoundException", "User does not exist.")
}

/// A required string field.
fn need<'a>(req: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    req.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("1 validation error detected: Value at '{}' failed to satisfy constraint: Member must not be null", lower_first(name))))
}

fn pool_mut<'a>(pools: &'a mut [Pool], id: &str) -> Result<&'a mut Pool, ApiError> {
    pools
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(|| not_found(format!("User pool {id} does not exist.")))
}

fn pool_ref<'a>(pools: &'a [Pool], id: &str) -> Result<&'a Pool, ApiError> {
    pools
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| not_found(format!("User pool {id} does not exist.")))
}

fn user_ref<'a>(pool: &'a Pool, name: &str) -> Result<&'a PoolUser, ApiError> {
    pool.users
        .iter()
        .find(|u| u.username == name)
        .ok_or_else(no_user)
}

fn no_client(id: &str) -> ApiError {
    not_found(format!("User pool client {id} does not exist."))
}

fn client_ref<'a>(pool: &'a Pool, id: &str) -> Result<&'a Client, ApiError> {
    pool.clients
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| no_client(id))
}

fn client_mut<'a>(pool: &'a mut Pool, id: &str) -> Result<&'a mut Client, ApiError> {
    pool.clients
        .iter_mut()
        .find(|c| c.id == id)
        .ok_or_else(|| no_client(id))
}

/// One page of `items` at most `size` long, from where the request's `token` field (a token
/// this lab gave) says, and the token for the next page when there is one.
fn page<T>(
    req: &Map<String, Value>,
    token: &str,
    items: &[T],
    size: u64,
    render: impl Fn(&T) -> Value,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let start: usize = req
        .get(token)
        .and_then(Value::as_str)
        .map(|t| {
            t.parse()
                .map_err(|_| invalid(format!("{token} is not one this lab gave")))
        })
        .transpose()?
        .unwrap_or(0);
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let list = items.iter().skip(start).take(size).map(render).collect();
    let next = start.saturating_add(size);
    Ok((list, (next < items.len()).then(|| next.to_string())))
}

fn user_mut<'a>(pool: &'a mut Pool, name: &str) -> Result<&'a mut PoolUser, ApiError> {
    pool.users
        .iter_mut()
        .find(|u| u.username == name)
        .ok_or_else(no_user)
}

/// `LimitExceededException` once a list holds `max` things: every store the lab keeps is bounded.
fn within(len: usize, max: usize, what: &str) -> Result<(), ApiError> {
    if len >= max {
        return Err(ApiError::new(
            "LimitExceededException",
            format!("the lab holds at most {max} {what}"),
        ));
    }
    Ok(())
}

/// Cognito's default password policy: 8 characters or more, with a lower-case and an
/// upper-case letter, a digit and a symbol.
pub fn password_problem(p: &str) -> Option<&'static str> {
    if p.chars().count() < 8 {
        Some("Password not long enough")
    } else if !p.chars().any(|c| c.is_lowercase()) {
        Some("Password must have lowercase characters")
    } else if !p.chars().any(|c| c.is_uppercase()) {
        Some("Password must have uppercase characters")
    } else if !p.chars().any(|c| c.is_ascii_digit()) {
        Some("Password must have numeric characters")
    } else if !p
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
    {
        Some("Password must have symbol characters")
    } else {
        None
    }
}

fn check_password(p: &str) -> Result<(), ApiError> {
    match password_problem(p) {
        Some(why) => Err(ApiError::new(
            "InvalidPasswordException",
            format!("Password did not conform with policy: {why}"),
        )),
        None => Ok(()),
    }
}

const FLOWS: &[&str] = &["code", "implicit", "client_credentials"];
const SCOPES: &[&str] = &[
    "phone",
    "email",
    "openid",
    "profile",
    "aws.cognito.signin.user.admin",
];

/// A domain prefix as Cognito takes one.
fn check_prefix(prefix: &str) -> Result<(), ApiError> {
    let shaped = !prefix.is_empty()
        && prefix.len() <= 63
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !prefix.starts_with('-')
        && !prefix.ends_with('-');
    if !shaped {
        return Err(invalid(format!(
            "1 validation error detected: Value '{prefix}' at 'domain' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9](?:[a-z0-9\\-]{{0,61}}[a-z0-9])?$"
        )));
    }
    if let Some(word) = ["aws", "amazon", "cognito"]
        .iter()
        .find(|w| prefix.contains(*w))
    {
        return Err(invalid(format!(
            "Domain cannot contain reserved word: {word}"
        )));
    }
    Ok(())
}

impl CognitoIdp {
    pub fn new(cognito: Arc<Cognito>) -> Self {
        Self { cognito }
    }

    fn dir(&self) -> &Directory {
        &self.cognito.directory
    }

    pub fn call(&self, op: &str, req: &Map<String, Value>) -> Result<Value, ApiError> {
        match op {
            "CreateUserPool" => self.create_pool(req),
            "DescribeUserPool" => self.describe_pool(req),
            "ListUserPools" => self.list_pools(req),
            "UpdateUserPool" => self.update_pool(req),
            "DeleteUserPool" => self.delete_pool(req),
            "CreateUserPoolDomain" => self.create_domain(req),
            "DescribeUserPoolDomain" => self.describe_domain(req),
            "DeleteUserPoolDomain" => self.delete_domain(req),
            "CreateUserPoolClient" => self.create_client(req),
            "DescribeUserPoolClient" => self.describe_client(req),
            "UpdateUserPoolClient" => self.update_client(req),
            "ListUserPoolClients" => self.list_clients(req),
            "DeleteUserPoolClient" => self.delete_client(req),
            "CreateManagedLoginBranding" => self.create_branding(req),
            "CreateGroup" => self.create_group(req),
            "ListGroups" => self.list_groups(req),
            "DeleteGroup" => self.delete_group(req),
            "AdminCreateUser" => self.admin_create_user(req),
            "AdminSetUserPassword" => self.admin_set_password(req),
            "AdminGetUser" => self.admin_get_user(req),
            "ListUsers" => self.list_users(req),
            "AdminDeleteUser" => self.admin_delete_user(req),
            "AdminAddUserToGroup" => self.admin_group(req, true),
            "AdminRemoveUserFromGroup" => self.admin_group(req, false),
            "AdminListGroupsForUser" => self.admin_list_groups(req),
            "AdminUserGlobalSignOut" => self.global_sign_out(req),
            "RevokeToken" => self.revoke_token(req),
            _ => Err(ApiError::unknown_operation(op)),
        }
    }

    fn pool_json(&self, p: &Pool) -> Value {
        json!({
            "Id": p.id, "Name": p.name, "Arn": p.arn(&self.dir().region),
            "CreationDate": p.created, "LastModifiedDate": p.modified,
            "DeletionProtection": p.deletion_protection, "UserPoolTier": p.tier,
            "Domain": p.domain.as_ref().map(|d| d.prefix.clone()),
            "EstimatedNumberOfUsers": p.users.len(),
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": p.admin_create_user_only, "UnusedAccountValidityDays": 7},
            "Policies": {"PasswordPolicy": {"MinimumLength": 8, "RequireUppercase": true, "RequireLowercase": true, "RequireNumbers": true, "RequireSymbols": true, "TemporaryPasswordValidityDays": 7}},
            "MfaConfiguration": "OFF",
            "SchemaAttributes": [],
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}, {"Priority": 2, "Name": "verified_phone_number"}]},
            "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
            "EmailVerificationMessage": "Your verification code is {####}. ",
            "EmailVerificationSubject": "Your verification code",
            "SmsVerificationMessage": "Your verification code is {####}. ",
            "VerificationMessageTemplate": {"DefaultEmailOption": "CONFIRM_WITH_CODE", "EmailMessage": "Your verification code is {####}. ", "EmailSubject": "Your verification code", "SmsMessage": "Your verification code is {####}. "},
        })
    }

    fn create_pool(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let name = need(req, "PoolName")?.to_owned();
        if name.is_empty() || name.len() > 128 {
            return Err(invalid("PoolName must be 1 to 128 characters"));
        }
        let tier = req
            .get("UserPoolTier")
            .and_then(Value::as_str)
            .unwrap_or("ESSENTIALS")
            .to_owned();
        if !["LITE", "ESSENTIALS", "PLUS"].contains(&tier.as_str()) {
            return Err(invalid(format!(
                "UserPoolTier {tier} is not one of LITE, ESSENTIALS, PLUS"
            )));
        }
        let region = self.dir().region.clone();
        let pool = self.dir().write(|pools| {
            within(pools.len(), MAX_POOLS, "user pools")?;
            let t = epoch();
            let pool = Pool {
                id: format!("{region}_{}", random_alnum(9)),
                name,
                created: t,
                modified: t,
                tier,
                deletion_protection: deletion_protection(req)?,
                admin_create_user_only: admin_only(req),
                domain: None,
                clients: vec![],
                groups: vec![],
                users: vec![],
            };
            pools.push(pool.clone());
            Ok(pool)
        })?;
        Ok(json!({"UserPool": self.pool_json(&pool)}))
    }

    fn describe_pool(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        self.dir()
            .read(|pools| pool_ref(pools, id).map(|p| json!({"UserPool": self.pool_json(p)})))
    }

    fn list_pools(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let max = req.get("MaxResults").and_then(Value::as_u64).unwrap_or(0);
        if !(1..=60).contains(&max) {
            return Err(invalid("MaxResults must be from 1 to 60"));
        }
        self.dir().read(|pools| {
            let (list, next) = page(req, "NextToken", pools, max, |p| {
                json!({"Id": p.id, "Name": p.name, "CreationDate": p.created, "LastModifiedDate": p.modified, "LambdaConfig": {}})
            })?;
            let mut out = json!({"UserPools": list});
            if let Some(next) = next {
                out["NextToken"] = next.into();
            }
            Ok(out)
        })
    }

    /// Omitted settings go back to their defaults, as on AWS.
    fn update_pool(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            p.deletion_protection = deletion_protection(req)?;
            p.admin_create_user_only = admin_only(req);
            if let Some(t) = req.get("UserPoolTier").and_then(Value::as_str) {
                p.tier = t.to_owned();
            }
            p.modified = epoch();
            Ok(json!({}))
        })
    }

    fn delete_pool(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        self.dir().write(|pools| {
            let p = pool_ref(pools, id)?;
            if p.deletion_protection == "ACTIVE" {
                return Err(invalid(
                    "The user pool cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first.",
                ));
            }
            if p.domain.is_some() {
                return Err(invalid(
                    "User pool cannot be deleted. It has a domain configured that should be deleted first.",
                ));
            }
            pools.retain(|p| p.id != id);
            Ok(json!({}))
        })
    }

    fn create_domain(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let prefix = need(req, "Domain")?.to_owned();
        let id = need(req, "UserPoolId")?;
        if req.contains_key("CustomDomainConfig") {
            return Err(invalid(
                "the lab has no DNS or certificates: use a prefix domain (no CustomDomainConfig)",
            ));
        }
        check_prefix(&prefix)?;
        let version = match req.get("ManagedLoginVersion").and_then(Value::as_i64) {
            None | Some(1) => 1,
            Some(2) => 2,
            Some(v) => return Err(invalid(format!("ManagedLoginVersion {v} is not 1 or 2"))),
        };
        self.dir().write(|pools| {
            if pools
                .iter()
                .any(|p| p.domain.as_ref().is_some_and(|d| d.prefix == prefix))
            {
                return Err(invalid("Domain already associated with another user pool."));
            }
            let p = pool_mut(pools, id)?;
            if version == 2 && p.tier == "LITE" {
                return Err(ApiError::new(
                    "FeatureUnavailableInTierException",
                    "Managed login is not available in the Lite tier.",
                ));
            }
            if p.domain.is_some() {
                return Err(invalid("User pool already has a domain configured."));
            }
            p.domain = Some(Domain {
                prefix,
                managed_login_version: version,
                created: epoch(),
            });
            Ok(json!({"ManagedLoginVersion": version}))
        })
    }

    fn describe_domain(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let prefix = need(req, "Domain")?;
        self.dir().read(|pools| {
            let found = pools.iter().find_map(|p| {
                p.domain
                    .as_ref()
                    .filter(|d| d.prefix == prefix)
                    .map(|d| (p, d))
            });
            Ok(match found {
                // Cognito answers an unknown domain with an empty description, not an error.
                None => json!({"DomainDescription": {}}),
                Some((p, d)) => json!({"DomainDescription": {
                    "UserPoolId": p.id, "AWSAccountId": ACCOUNT, "Domain": d.prefix,
                    "CloudFrontDistribution": format!("{}.cloudfront.net", d.prefix),
                    "Version": "20250101000000", "Status": "ACTIVE",
                    "ManagedLoginVersion": d.managed_login_version,
                }}),
            })
        })
    }

    fn delete_domain(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let prefix = need(req, "Domain")?;
        let id = need(req, "UserPoolId")?;
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            if p.domain.as_ref().is_none_or(|d| d.prefix != prefix) {
                return Err(invalid(format!(
                    "No such domain or user pool exists: {prefix} on {id}"
                )));
            }
            p.domain = None;
            Ok(json!({}))
        })
    }

    fn client_json(pool: &str, c: &Client) -> Value {
        let mut v = json!({
            "UserPoolId": pool, "ClientName": c.name, "ClientId": c.id,
            "LastModifiedDate": c.modified, "CreationDate": c.created,
            "RefreshTokenValidity": 30, "AccessTokenValidity": 60, "IdTokenValidity": 60,
            "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
            "ExplicitAuthFlows": c.explicit_auth_flows,
            "AllowedOAuthFlowsUserPoolClient": c.oauth_enabled,
            "EnableTokenRevocation": true, "EnablePropagateAdditionalUserContextData": false,
            "AuthSessionValidity": 3,
        });
        let list = |v: &mut Value, k: &str, l: &Vec<String>| {
            if !l.is_empty() {
                v[k] = json!(l);
            }
        };
        list(&mut v, "SupportedIdentityProviders", &c.providers);
        list(&mut v, "CallbackURLs", &c.callback_urls);
        list(&mut v, "LogoutURLs", &c.logout_urls);
        list(&mut v, "AllowedOAuthFlows", &c.flows);
        list(&mut v, "AllowedOAuthScopes", &c.scopes);
        if let Some(s) = &c.secret {
            v["ClientSecret"] = s.clone().into();
        }
        v
    }

    /// The OAuth settings of a create or update request, checked as Cognito checks them.
    fn oauth_settings(req: &Map<String, Value>, c: &mut Client) -> Result<(), ApiError> {
        c.flows = strings(req, "AllowedOAuthFlows");
        c.scopes = strings(req, "AllowedOAuthScopes");
        c.callback_urls = strings(req, "CallbackURLs");
        c.logout_urls = strings(req, "LogoutURLs");
        c.providers = strings(req, "SupportedIdentityProviders");
        c.oauth_enabled = req
            .get("AllowedOAuthFlowsUserPoolClient")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let explicit = strings(req, "ExplicitAuthFlows");
        c.explicit_auth_flows = if explicit.is_empty() {
            [
                "ALLOW_CUSTOM_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
                "ALLOW_USER_SRP_AUTH",
            ]
            .map(str::to_owned)
            .to_vec()
        } else {
            explicit
        };
        if let Some(f) = c.flows.iter().find(|f| !FLOWS.contains(&f.as_str())) {
            return Err(invalid(format!(
                "{f} is not a valid OAuth flow: allowed flows are [implicit, client_credentials, code]"
            )));
        }
        if c.flows.iter().any(|f| f == "client_credentials") && c.flows.len() > 1 {
            return Err(ApiError::new(
                "InvalidOAuthFlowException",
                "client_credentials flow can not be selected along with code flow or implicit flow.",
            ));
        }
        if let Some(s) = c.scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
            return Err(ApiError::new(
                "ScopeDoesNotExistException",
                format!("Invalid scope requested: {s}"),
            ));
        }
        if let Some(p) = c.providers.iter().find(|p| p.as_str() != "COGNITO") {
            return Err(invalid(format!(
                "The provider {p} does not exist for User Pool"
            )));
        }
        for url in c.callback_urls.iter().chain(&c.logout_urls) {
            let http_local =
                url.starts_with("http://localhost") || url.starts_with("http://127.0.0.1");
            if !(url.starts_with("https://") || http_local) || url.contains('#') {
                return Err(invalid(format!(
                    "{url} is not a valid URL: it must use https (http only for localhost) and have no fragment"
                )));
            }
        }
        Ok(())
    }

    fn create_client(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let name = need(req, "ClientName")?.to_owned();
        let t = epoch();
        let mut c = Client {
            id: random_alnum(26).to_ascii_lowercase(),
            name,
            secret: req
                .get("GenerateSecret")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .then(|| random_alnum(51).to_ascii_lowercase()),
            created: t,
            modified: t,
            callback_urls: vec![],
            logout_urls: vec![],
            flows: vec![],
            scopes: vec![],
            oauth_enabled: false,
            providers: vec![],
            explicit_auth_flows: vec![],
            branding: None,
        };
        Self::oauth_settings(req, &mut c)?;
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            within(p.clients.len(), MAX_CLIENTS, "app clients a pool")?;
            p.clients.push(c.clone());
            Ok(json!({"UserPoolClient": Self::client_json(id, &c)}))
        })
    }

    fn describe_client(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let client = need(req, "ClientId")?;
        self.dir().read(|pools| {
            let p = pool_ref(pools, id)?;
            let c = client_ref(p, client)?;
            Ok(json!({"UserPoolClient": Self::client_json(id, c)}))
        })
    }

    /// Every OAuth setting left out goes back to its default, as on AWS.
    fn update_client(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let client = need(req, "ClientId")?;
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            let c = client_mut(p, client)?;
            // Checked on a copy, so a refused update leaves the client as it was.
            let mut next = c.clone();
            if let Some(n) = req.get("ClientName").and_then(Value::as_str) {
                n.clone_into(&mut next.name);
            }
            Self::oauth_settings(req, &mut next)?;
            next.modified = epoch();
            *c = next;
            Ok(json!({"UserPoolClient": Self::client_json(id, c)}))
        })
    }

    fn list_clients(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        self.dir().read(|pools| {
            let p = pool_ref(pools, id)?;
            let list: Vec<Value> = p
                .clients
                .iter()
                .map(|c| json!({"ClientId": c.id, "UserPoolId": id, "ClientName": c.name}))
                .collect();
            Ok(json!({"UserPoolClients": list}))
        })
    }

    fn delete_client(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let client = need(req, "ClientId")?;
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            let before = p.clients.len();
            p.clients.retain(|c| c.id != client);
            if p.clients.len() == before {
                return Err(no_client(client));
            }
            Ok(json!({}))
        })
    }

    fn create_branding(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let client = need(req, "ClientId")?;
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            let c = client_mut(p, client)?;
            if c.branding.is_some() {
                return Err(ApiError::new(
                    "ManagedLoginBrandingExistsException",
                    "A managed login branding style already exists for this app client.",
                ));
            }
            let branding = uuid();
            c.branding = Some(branding.clone());
            let t = epoch();
            Ok(json!({"ManagedLoginBranding": {
                "ManagedLoginBrandingId": branding, "UserPoolId": id,
                "UseCognitoProvidedValues": req.get("UseCognitoProvidedValues").and_then(Value::as_bool).unwrap_or(false),
                "Assets": [], "CreationDate": t, "LastModifiedDate": t,
            }}))
        })
    }

    fn group_json(pool: &str, g: &Group) -> Value {
        let mut v = json!({"GroupName": g.name, "UserPoolId": pool, "CreationDate": g.created, "LastModifiedDate": g.modified});
        if let Some(d) = &g.description {
            v["Description"] = d.clone().into();
        }
        if let Some(p) = g.precedence {
            v["Precedence"] = p.into();
        }
        v
    }

    fn create_group(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let name = need(req, "GroupName")?.to_owned();
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            if p.groups.iter().any(|g| g.name == name) {
                return Err(ApiError::new(
                    "GroupExistsException",
                    "A group with the name already exists.",
                ));
            }
            within(p.groups.len(), MAX_GROUPS, "groups a pool")?;
            let t = epoch();
            let g = Group {
                name,
                description: req
                    .get("Description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                precedence: req.get("Precedence").and_then(Value::as_i64),
                created: t,
                modified: t,
            };
            p.groups.push(g.clone());
            Ok(json!({"Group": Self::group_json(id, &g)}))
        })
    }

    fn list_groups(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        self.dir().read(|pools| {
            let p = pool_ref(pools, id)?;
            let list: Vec<Value> = p.groups.iter().map(|g| Self::group_json(id, g)).collect();
            Ok(json!({"Groups": list}))
        })
    }

    fn delete_group(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let name = need(req, "GroupName")?;
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            if !p.groups.iter().any(|g| g.name == name) {
                return Err(not_found("Group not found."));
            }
            p.groups.retain(|g| g.name != name);
            for u in &mut p.users {
                u.groups.retain(|g| g != name);
            }
            Ok(json!({}))
        })
    }

    fn user_json(u: &PoolUser, attributes_key: &str) -> Value {
        let mut attrs = vec![json!({"Name": "sub", "Value": u.sub})];
        attrs.extend(
            u.attributes
                .iter()
                .map(|(n, v)| json!({"Name": n, "Value": v})),
        );
        let mut v = json!({
            "Username": u.username, "UserCreateDate": u.created,
            "UserLastModifiedDate": u.modified, "Enabled": u.enabled, "UserStatus": u.status,
        });
        v[attributes_key] = attrs.into();
        v
    }

    fn admin_create_user(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let username = need(req, "Username")?.to_owned();
        if username.is_empty() || username.len() > 128 || username.chars().any(char::is_whitespace)
        {
            return Err(invalid(
                "Username must be 1 to 128 characters, without spaces",
            ));
        }
        let password = match req.get("TemporaryPassword").and_then(Value::as_str) {
            Some(p) => {
                check_password(p)?;
                p.to_owned()
            }
            // Cognito makes one and would send it; with SUPPRESS nobody learns it, and an
            // admin sets the password next (AdminSetUserPassword).
            None => format!("{}a1!", random_alnum(16)),
        };
        let mut attributes = Vec::new();
        for a in req
            .get("UserAttributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(n), Some(v)) = (a["Name"].as_str(), a["Value"].as_str()) else {
                return Err(invalid("each UserAttribute needs a Name and a Value"));
            };
            if n == "sub" {
                return Err(invalid("sub cannot be set"));
            }
            attributes.push((n.to_owned(), v.to_owned()));
        }
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            if p.users.iter().any(|u| u.username == username) {
                return Err(ApiError::new(
                    "UsernameExistsException",
                    "User account already exists",
                ));
            }
            within(p.users.len(), MAX_USERS, "users a pool")?;
            let t = epoch();
            let u = PoolUser {
                username,
                sub: uuid(),
                password,
                status: "FORCE_CHANGE_PASSWORD".into(),
                enabled: true,
                attributes,
                groups: vec![],
                created: t,
                modified: t,
            };
            p.users.push(u.clone());
            Ok(json!({"User": Self::user_json(&u, "Attributes")}))
        })
    }

    fn admin_set_password(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let name = need(req, "Username")?;
        let password = need(req, "Password")?.to_owned();
        check_password(&password)?;
        let permanent = req
            .get("Permanent")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.dir().write(|pools| {
            let u = user_mut(pool_mut(pools, id)?, name)?;
            u.password = password;
            u.status = if permanent {
                "CONFIRMED"
            } else {
                "FORCE_CHANGE_PASSWORD"
            }
            .into();
            u.modified = epoch();
            Ok(json!({}))
        })
    }

    fn admin_get_user(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let name = need(req, "Username")?;
        self.dir().read(|pools| {
            let p = pool_ref(pools, id)?;
            let u = user_ref(p, name)?;
            Ok(Self::user_json(u, "UserAttributes"))
        })
    }

    /// `Filter` takes the documented `attribute = "value"` and `attribute ^= "prefix"` forms.
    fn list_users(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let filter = match req
            .get("Filter")
            .and_then(Value::as_str)
            .filter(|f| !f.trim().is_empty())
        {
            None => None,
            Some(f) => Some(parse_filter(f)?),
        };
        let limit = req.get("Limit").and_then(Value::as_u64).unwrap_or(60);
        if !(1..=60).contains(&limit) {
            return Err(invalid("Limit must be from 1 to 60"));
        }
        self.dir().read(|pools| {
            let p = pool_ref(pools, id)?;
            let matching: Vec<&PoolUser> = p
                .users
                .iter()
                .filter(|u| filter.as_ref().is_none_or(|f| f.matches(u)))
                .collect();
            let (list, next) = page(req, "PaginationToken", &matching, limit, |u| {
                Self::user_json(u, "Attributes")
            })?;
            let mut out = json!({"Users": list});
            if let Some(next) = next {
                out["PaginationToken"] = next.into();
            }
            Ok(out)
        })
    }

    fn admin_delete_user(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let name = need(req, "Username")?;
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            user_mut(p, name)?;
            p.users.retain(|u| u.username != name);
            Ok(json!({}))
        })?;
        self.cognito.sign_out_everywhere(name);
        Ok(json!({}))
    }

    fn admin_group(&self, req: &Map<String, Value>, add: bool) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let name = need(req, "Username")?;
        let group = need(req, "GroupName")?.to_owned();
        self.dir().write(|pools| {
            let p = pool_mut(pools, id)?;
            if !p.groups.iter().any(|g| g.name == group) {
                return Err(not_found("Group not found."));
            }
            let u = user_mut(p, name)?;
            u.groups.retain(|g| *g != group);
            if add {
                u.groups.push(group);
            }
            u.modified = epoch();
            Ok(json!({}))
        })
    }

    fn admin_list_groups(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let name = need(req, "Username")?;
        self.dir().read(|pools| {
            let p = pool_ref(pools, id)?;
            let u = user_ref(p, name)?;
            let list: Vec<Value> = p
                .groups
                .iter()
                .filter(|g| u.groups.contains(&g.name))
                .map(|g| Self::group_json(id, g))
                .collect();
            Ok(json!({"Groups": list}))
        })
    }

    /// Revokes the user's refresh tokens: the ALB's session ends at its next refresh.
    fn global_sign_out(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = need(req, "UserPoolId")?;
        let name = need(req, "Username")?;
        self.dir().read(|pools| {
            let p = pool_ref(pools, id)?;
            user_ref(p, name).map(|_| ())
        })?;
        if id == self.dir().served_id() {
            self.cognito.sign_out_everywhere(name);
        }
        Ok(json!({}))
    }

    /// `RevokeToken` (unsigned, as on AWS): the client proves itself with its secret.
    fn revoke_token(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let token = need(req, "Token")?;
        let client = need(req, "ClientId")?;
        let secret = req.get("ClientSecret").and_then(Value::as_str);
        let pool = self.cognito.pool();
        let Some(c) = pool.client(client) else {
            return Err(ApiError::new("UnauthorizedException", "Invalid client id"));
        };
        if !c.secret_matches(secret) {
            return Err(ApiError::new(
                "UnauthorizedException",
                "Invalid client secret",
            ));
        }
        self.cognito.revoke_refresh_token(token, client);
        Ok(json!({}))
    }
}

fn deletion_protection(req: &Map<String, Value>) -> Result<String, ApiError> {
    match req.get("DeletionProtection").and_then(Value::as_str) {
        None => Ok("INACTIVE".into()),
        Some(v @ ("ACTIVE" | "INACTIVE")) => Ok(v.into()),
        Some(v) => Err(invalid(format!(
            "DeletionProtection {v} is not ACTIVE or INACTIVE"
        ))),
    }
}

fn admin_only(req: &Map<String, Value>) -> bool {
    req.get("AdminCreateUserConfig")
        .and_then(|c| c.get("AllowAdminCreateUserOnly"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// A `ListUsers` filter: `name = "value"`, or `name ^= "prefix"` when `prefix`.
struct Filter {
    name: String,
    prefix: bool,
    value: String,
}

impl Filter {
    fn matches(&self, u: &PoolUser) -> bool {
        let have = match self.name.as_str() {
            "username" => Some(u.username.as_str()),
            "sub" => Some(u.sub.as_str()),
            "status" => Some(if u.enabled { "Enabled" } else { "Disabled" }),
            "cognito:user_status" => Some(u.status.as_str()),
            a => u.attribute(a),
        };
        have.is_some_and(|h| {
            if self.prefix {
                h.starts_with(&self.value)
            } else {
                h == self.value
            }
        })
    }
}

fn parse_filter(f: &str) -> Result<Filter, ApiError> {
    let bad = || invalid(format!("Invalid filter: {f}"));
    let (name, rest, prefix) = match f.split_once("^=") {
        Some((n, r)) => (n, r, true),
        None => {
            let (n, r) = f.split_once('=').ok_or_else(bad)?;
            (n, r, false)
        }
    };
    let value = rest
        .trim()
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .ok_or_else(bad)?;
    Ok(Filter {
        name: name.trim().to_owned(),
        prefix,
        value: value.to_owned(),
    })
}
