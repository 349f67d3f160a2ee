//! People: users with roles, passwords (argon2id), sessions, and who a request acts as.
//!
//! A session is a random secret in an HttpOnly cookie; the store keeps only its SHA-256. The
//! CSRF token is derived from the secret (SHA-256 over a fixed label and it), so it needs no
//! storage, differs per session, and cannot be computed by a page that cannot read the cookie.
//! Failed sign-ins count towards the same lockout as failed client authentications, per email
//! and per source address.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use gatehouse_core::{SessionRecord, UnixTime, User, UserId, UserRole, normalize_email};
use gatehouse_keys::secret;
use gatehouse_oauth::lockout::LockoutKey;
use gatehouse_proto::portal::{CreateUser, CreatedUser, UpdateUser, UserView};

use super::{ManageService, check_name, invalid, new_id};
use crate::ManageError;

/// How long a session lasts (absolute; signing in again starts a new one).
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Shortest accepted password.
const MIN_PASSWORD: usize = 12;
/// Longest accepted password (bytes): the KDF's input is bounded.
const MAX_PASSWORD: usize = 1024;
/// Longest accepted email.
const MAX_EMAIL: usize = 254;

/// Who a management request acts as.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The admin token (operators, the CLI, `apply`).
    AdminToken,
    /// A signed-in user.
    User(Arc<User>),
}

impl Actor {
    /// Whether the actor may do everything.
    pub fn is_admin(&self) -> bool {
        match self {
            Self::AdminToken => true,
            Self::User(u) => u.role == UserRole::Admin,
        }
    }

    /// The user, if a person is acting.
    pub fn user(&self) -> Option<&User> {
        match self {
            Self::AdminToken => None,
            Self::User(u) => Some(u),
        }
    }

    /// The user's id, if a person is acting.
    pub fn user_id(&self) -> Option<&UserId> {
        self.user().map(|u| &u.id)
    }

    /// The name recorded in the audit log.
    pub fn audit_name(&self) -> String {
        match self {
            Self::AdminToken => "admin-token".to_owned(),
            Self::User(u) => format!("user:{}", u.email),
        }
    }

    /// Refuses everyone but admins.
    pub fn require_admin(&self) -> Result<(), ManageError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ManageError::Forbidden("admins only".into()))
        }
    }
}

/// A started session: the cookie value (shown to the browser once) and its CSRF token.
#[derive(Debug, Clone)]
pub struct StartedSession {
    /// The cookie value.
    pub secret: String,
    /// The CSRF token for this session.
    pub csrf_token: String,
    /// Who signed in.
    pub user: Arc<User>,
    /// When it ends.
    pub expires_at: UnixTime,
}

/// The CSRF token of the session whose cookie value is `secret`.
pub fn csrf_token(secret: &str) -> String {
    let mut input = b"gatehouse-csrf-v1:".to_vec();
    input.extend_from_slice(secret.as_bytes());
    let d = secret::digest(&String::from_utf8_lossy(&input));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d)
}

/// Whether `given` is the CSRF token of the session `secret`, compared in constant time.
pub fn csrf_matches(secret: &str, given: &str) -> bool {
    let expected = csrf_token(secret);
    secret::digest_eq(&secret::digest(&expected), &secret::digest(given))
}

fn argon2() -> Argon2<'static> {
    // OWASP's first recommended argon2id setting: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn check_password(p: &str) -> Result<(), ManageError> {
    if p.chars().count() < MIN_PASSWORD || p.len() > MAX_PASSWORD {
        return Err(invalid(format!(
            "password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// Hashes a password with argon2id and a fresh salt (on a blocking thread: ~20 MiB, tens of ms).
async fn hash_password(password: String) -> Result<String, ManageError> {
    tokio::task::spawn_blocking(move || {
        let raw = secret::random_base62(22);
        let salt = SaltString::encode_b64(raw.as_bytes())
            .map_err(|e| ManageError::Internal(format!("salt: {e}")))?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ManageError::Internal(format!("password hash: {e}")))
    })
    .await
    .map_err(|e| ManageError::Internal(format!("hash task: {e}")))?
}

/// A valid hash of nothing anyone knows, verified when the email is unknown so that a wrong
/// email costs the same time as a wrong password.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZGVjb3lzYWx0ZGVjb3k$8Wp2xWlX6m3aV6Yq3QG6M7m9m9u7t1b5mPz0z3G0aQk";

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

fn check_email(email: &str) -> Result<String, ManageError> {
    let e = normalize_email(email);
    let ok = e.len() <= MAX_EMAIL
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    if ok {
        Ok(e)
    } else {
        Err(invalid("email must look like name@example.com"))
    }
}

impl ManageService {
    /// Creates a user (admins only). Without a password, one is generated and returned once.
    pub async fn create_user(
        &self,
        actor: &Actor,
        req: CreateUser,
    ) -> Result<CreatedUser, ManageError> {
        actor.require_admin()?;
        let email = check_email(&req.email)?;
        let name = check_name("user", &req.name)?;
        let role = match req.role.as_deref() {
            None => UserRole::Developer,
            Some(r) => {
                UserRole::parse(r).ok_or_else(|| invalid("role must be admin or developer"))?
            }
        };
        let (password, generated) = match req.password {
            Some(p) => (p, None),
            None => {
                let p = secret::random_base62(24);
                (p.clone(), Some(p))
            }
        };
        check_password(&password)?;
        let user = User {
            id: new_id::<UserId>("u_")?,
            email,
            name,
            role,
            password_hash: hash_password(password).await?,
            disabled: false,
            created_at: self.now(),
        };
        self.state.store.create_user(&user).await?;
        self.audit(
            &actor.audit_name(),
            "user.create",
            user.id.as_str(),
            serde_json::json!({"email": user.email, "role": user.role.as_str()}),
        )
        .await?;
        Ok(CreatedUser {
            user: UserView::from(&user),
            password: generated,
        })
    }

    /// Every user (admins only), oldest first.
    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserView>, ManageError> {
        actor.require_admin()?;
        let users = self.state.store.list_users().await?;
        Ok(users.iter().map(UserView::from).collect())
    }

    /// A user by id or email: admins see anyone, a user themselves.
    pub async fn get_user(&self, actor: &Actor, key: &str) -> Result<User, ManageError> {
        let user = self.find_user(key).await?;
        if !actor.is_admin() && actor.user_id() != Some(&user.id) {
            return Err(ManageError::NotFound(format!("user '{key}'")));
        }
        Ok(user)
    }

    /// A user by id or email.
    pub(crate) async fn find_user(&self, key: &str) -> Result<User, ManageError> {
        let store = &self.state.store;
        let found = if key.contains('@') {
            store.user_by_email(&normalize_email(key)).await?
        } else {
            match UserId::parse(key) {
                Ok(id) => store.get_user(&id).await?,
                Err(_) => None,
            }
        };
        found.ok_or_else(|| ManageError::NotFound(format!("user '{key}'")))
    }

    /// Changes a user (admins only). Disabling or a new password ends their sessions. An admin
    /// cannot demote or disable themselves (so the last admin is never locked out by mistake).
    pub async fn update_user(
        &self,
        actor: &Actor,
        key: &str,
        req: UpdateUser,
    ) -> Result<UserView, ManageError> {
        actor.require_admin()?;
        let mut user = self.find_user(key).await?;
        let myself = actor.user_id() == Some(&user.id);
        let mut end_sessions = false;
        if let Some(name) = &req.name {
            user.name = check_name("user", name)?;
        }
        if let Some(role) = &req.role {
            let role =
                UserRole::parse(role).ok_or_else(|| invalid("role must be admin or developer"))?;
            if myself && role != UserRole::Admin {
                return Err(invalid("admins cannot demote themselves"));
            }
            user.role = role;
        }
        if let Some(disabled) = req.disabled {
            if myself && disabled {
                return Err(invalid("admins cannot disable themselves"));
            }
            end_sessions |= disabled && !user.disabled;
            user.disabled = disabled;
        }
        let password_changed = req.password.is_some();
        if let Some(p) = req.password {
            check_password(&p)?;
            user.password_hash = hash_password(p).await?;
            end_sessions = true;
        }
        self.state.store.update_user(&user).await?;
        if end_sessions {
            self.state.store.delete_user_sessions(&user.id).await?;
        }
        self.audit(
            &actor.audit_name(),
            "user.update",
            user.id.as_str(),
            serde_json::json!({
                "name": req.name, "role": req.role, "disabled": req.disabled,
                "password_changed": password_changed,
            }),
        )
        .await?;
        Ok(UserView::from(&user))
    }

    /// Changes the signed-in user's own password (the current one is required); ends their
    /// other sessions.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
    ) -> Result<(), ManageError> {
        let Some(user) = actor.user() else {
            return Err(invalid("the admin token has no password"));
        };
        if current.len() > MAX_PASSWORD
            || !verify_password(current.to_owned(), user.password_hash.clone()).await
        {
            return Err(ManageError::Forbidden(
                "the current password is wrong".into(),
            ));
        }
        check_password(new)?;
        let mut user = user.clone();
        user.password_hash = hash_password(new.to_owned()).await?;
        self.state.store.update_user(&user).await?;
        self.state.store.delete_user_sessions(&user.id).await?;
        self.audit(
            &actor.audit_name(),
            "user.password",
            user.id.as_str(),
            serde_json::json!({}),
        )
        .await
    }

    /// Signs in: checks the lockout, the password (constant effort for unknown emails), then
    /// starts a session. Every failure is the same `Unauthenticated`.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> Result<StartedSession, ManageError> {
        let now = self.now();
        let email = normalize_email(email);
        let lockout = &self.state.lockout;
        let email_key = LockoutKey::Client(format!("user:{email}"));
        let locked = [Some(email_key.clone()), peer.map(LockoutKey::Peer)]
            .into_iter()
            .flatten()
            .find_map(|k| lockout.locked_for(&k, now));
        if let Some(secs) = locked {
            return Err(ManageError::LockedOut(secs));
        }
        let user = if email.len() <= MAX_EMAIL {
            self.state.store.user_by_email(&email).await?
        } else {
            None
        };
        let hash = user
            .as_ref()
            .map_or_else(|| DECOY_HASH.to_owned(), |u| u.password_hash.clone());
        let password_ok =
            password.len() <= MAX_PASSWORD && verify_password(password.to_owned(), hash).await;
        let user = match user {
            Some(u) if password_ok && !u.disabled => u,
            _ => {
                lockout.record_failure(email_key, now);
                if let Some(ip) = peer {
                    lockout.record_failure(LockoutKey::Peer(ip), now);
                }
                tracing::info!(?peer, "sign-in failed");
                return Err(ManageError::SignInFailed);
            }
        };
        let session_secret = secret::random_base62(43);
        let expires_at = now.plus(SESSION_TTL);
        self.state
            .store
            .create_session(&SessionRecord {
                digest: secret::digest(&session_secret),
                user_id: user.id.clone(),
                created_at: now,
                expires_at,
            })
            .await?;
        // Opportunistic cleanup: sign-ins are rare enough to pay for it.
        self.state.store.purge_sessions(now).await?;
        let user = Arc::new(user);
        self.audit(
            &format!("user:{}", user.email),
            "session.start",
            user.id.as_str(),
            serde_json::json!({"peer": peer.map(|p| p.to_string())}),
        )
        .await?;
        Ok(StartedSession {
            csrf_token: csrf_token(&session_secret),
            secret: session_secret,
            user,
            expires_at,
        })
    }

    /// The user of a live session (`None` for an unknown, expired or disabled one).
    pub async fn session_user(
        &self,
        session_secret: &str,
    ) -> Result<Option<Arc<User>>, ManageError> {
        if session_secret.is_empty() || session_secret.len() > 128 {
            return Ok(None);
        }
        let user = self
            .state
            .store
            .session_user(&secret::digest(session_secret), self.now())
            .await?;
        Ok(user.filter(|u| !u.disabled).map(Arc::new))
    }

    /// Ends a session.
    pub async fn sign_out(&self, session_secret: &str) -> Result<(), ManageError> {
        self.state
            .store
            .delete_session(&secret::digest(session_secret))
            .await?;
        Ok(())
    }

    /// The users with these ids or emails, for owner lists (unknown ones are an error).
    pub(crate) async fn resolve_users(&self, keys: &[String]) -> Result<Vec<UserId>, ManageError> {
        let mut out: Vec<UserId> = Vec::new();
        for k in keys {
            let u = self
                .find_user(k)
                .await
                .map_err(|_| invalid(format!("unknown user '{k}'")))?;
            if !out.contains(&u.id) {
                out.push(u.id);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let a = csrf_token("session-a");
        assert_ne!(a, csrf_token("session-b"));
        assert!(csrf_matches("session-a", &a));
        assert!(!csrf_matches("session-b", &a));
        assert!(!csrf_matches("session-a", ""));
        assert!(!csrf_matches("session-a", &a[1..]));
    }

    #[test]
    fn emails_are_checked_and_normalized() {
        assert_eq!(check_email(" Ana@Example.com ").unwrap(), "ana@example.com");
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@localhost",
            "a b@example.com",
            "<a>@x.io",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn passwords_have_bounded_length() {
        assert!(check_password("short").is_err());
        assert!(check_password(&"x".repeat(12)).is_ok());
        assert!(check_password(&"x".repeat(1025)).is_err());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_the_decoy_parses() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery".into(), h.clone()).await);
        assert!(!verify_password("correct horse battery!".into(), h).await);
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
        assert!(!verify_password("anything".into(), DECOY_HASH.into()).await);
    }
}
