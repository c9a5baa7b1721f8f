//! The lab's keys and secrets, kept in its state directory so tokens and sessions survive a
//! restart: the ALB's P-256 key, Cognito's two RSA keys (ID and access tokens are signed with
//! different keys, as on AWS), the ALB's session-cookie key and the app client's secret.

use std::path::Path;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cognito_learning_tokens::sign::{AlbSigner, RsaSigner};
use serde::{Deserialize, Serialize};

pub use cognito_learning_contract::lab::default_state_dir as default_dir;

#[derive(Debug)]
pub struct LabKeys {
    pub alb: AlbSigner,
    pub id: RsaSigner,
    pub access: RsaSigner,
    pub session_key: [u8; 32],
    pub client_secret: String,
    /// The credentials the lab's AWS API accepts: kept, so that a shell which ran
    /// `eval "$(cognito-learning lab env)"` still works after the lab restarts.
    pub api_key_id: String,
    pub api_secret: String,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    alb_kid: String,
    alb_pkcs8: String,
    id_kid: String,
    id_pkcs8: String,
    access_kid: String,
    access_pkcs8: String,
    session_key: String,
    client_secret: String,
    /// Absent from a file written before the lab kept them: made then, and saved.
    #[serde(default)]
    api_key_id: Option<String>,
    #[serde(default)]
    api_secret: Option<String>,
}

impl LabKeys {
    /// Loads `keys.json` from `dir`, or makes new keys and saves them there.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Self> {
        create_private_dir(dir)?;
        let path = dir.join("keys.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            match Self::parse(&text) {
                Ok((k, complete)) => {
                    if !complete {
                        k.save(&path)
                            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    }
                    return Ok(k);
                }
                Err(e) => eprintln!("{}: {e}; making new lab keys", path.display()),
            }
        }
        let keys = Self::generate()?;
        keys.save(&path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        Ok(keys)
    }

    pub fn generate() -> anyhow::Result<Self> {
        let err = |_| anyhow::anyhow!("key generation failed");
        let mut session_key = [0u8; 32];
        SystemRandom::new().fill(&mut session_key).map_err(err)?;
        Ok(Self {
            alb: AlbSigner::generate(uuid()).map_err(err)?,
            id: RsaSigner::generate(cognito_kid()).map_err(err)?,
            access: RsaSigner::generate(cognito_kid()).map_err(err)?,
            session_key,
            client_secret: random_alnum(51).to_ascii_lowercase(),
            api_key_id: api_key_id(),
            api_secret: random_alnum(40),
        })
    }

    /// The keys in `text`, and whether it held all of them.
    fn parse(text: &str) -> anyhow::Result<(Self, bool)> {
        let s: Stored = serde_json::from_str(text)?;
        let b = |v: &str| STANDARD.decode(v);
        let err = |_| anyhow::anyhow!("a stored key does not load");
        let mut session_key = [0u8; 32];
        let sk = b(&s.session_key)?;
        anyhow::ensure!(sk.len() == 32, "session key is not 32 bytes");
        session_key.copy_from_slice(&sk);
        let complete = s.api_key_id.is_some() && s.api_secret.is_some();
        let keys = Self {
            alb: AlbSigner::from_pkcs8(s.alb_kid, &b(&s.alb_pkcs8)?).map_err(err)?,
            id: RsaSigner::from_pkcs8(s.id_kid, &b(&s.id_pkcs8)?).map_err(err)?,
            access: RsaSigner::from_pkcs8(s.access_kid, &b(&s.access_pkcs8)?).map_err(err)?,
            session_key,
            client_secret: s.client_secret,
            api_key_id: s.api_key_id.unwrap_or_else(api_key_id),
            api_secret: s.api_secret.unwrap_or_else(|| random_alnum(40)),
        };
        Ok((keys, complete))
    }

    fn save(&self, path: &Path) -> anyhow::Result<()> {
        let err = |_| anyhow::anyhow!("key export failed");
        let stored = Stored {
            alb_kid: self.alb.kid.clone(),
            alb_pkcs8: STANDARD.encode(self.alb.pkcs8().map_err(err)?),
            id_kid: self.id.kid.clone(),
            id_pkcs8: STANDARD.encode(self.id.pkcs8().map_err(err)?),
            access_kid: self.access.kid.clone(),
            access_pkcs8: STANDARD.encode(self.access.pkcs8().map_err(err)?),
            session_key: STANDARD.encode(self.session_key),
            client_secret: self.client_secret.clone(),
            api_key_id: Some(self.api_key_id.clone()),
            api_secret: Some(self.api_secret.clone()),
        };
        let tmp = path.with_extension("tmp");
        write_private(&tmp, serde_json::to_string_pretty(&stored)?.as_bytes())?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

/// An access key id of AWS's shape (`AKIA` and 16 upper-case letters and digits).
fn api_key_id() -> String {
    format!("AKIA{}", random_alnum(16).to_ascii_uppercase())
}

/// Makes the lab's state directory, readable by its owner only (0700): it holds keys, live
/// tokens and cookies. A directory that exists already is tightened.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let fail = |e: std::io::Error| {
        anyhow::anyhow!(
            "cannot use the lab state directory {}: {e} (--state-dir picks another)",
            dir.display()
        )
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).map_err(fail)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
        }
    }
    Ok(())
}

/// Writes a file only its owner can read (0600), replacing what was there.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(bytes)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The system RNG failing is not something a lab can recover from sensibly; zeros would be
    // worse than a visible, repeatable value, so fall back to the clock only to stay alive.
    if SystemRandom::new().fill(&mut b).is_err() {
        let t = cognito_learning_tokens::time::now_millis().to_le_bytes();
        for (i, x) in b.iter_mut().enumerate() {
            *x = t[i % 8] ^ (i as u8);
        }
    }
    b
}

/// A random version-4 UUID, as the ALB uses for key ids and Cognito for `sub`.
pub fn uuid() -> String {
    format_uuid(random_bytes::<16>())
}

/// 16 bytes as a version-4 UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
pub fn format_uuid(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Cognito's key ids are base64 strings ending in `=`.
fn cognito_kid() -> String {
    STANDARD.encode(random_bytes::<32>())
}

/// `n` random letters and digits.
pub fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes::<32>() {
            // 248 is the largest multiple of 62 below 256: no bias.
            if b < 248 && out.len() < n {
                out.push(char::from(ALPHABET[usize::from(b) % 62]));
            }
        }
    }
    out
}

/// A random URL-safe token of `bytes` random bytes (codes, session ids, refresh tokens).
pub fn random_token(bytes: usize) -> String {
    let mut v = vec![0u8; bytes];
    if SystemRandom::new().fill(&mut v).is_err() {
        v = random_alnum(bytes).into_bytes();
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("cl-state-{}", uuid()));
        let a = LabKeys::load_or_create(&dir).unwrap();
        let b = LabKeys::load_or_create(&dir).unwrap();
        assert_eq!(a.alb.kid, b.alb.kid);
        assert_eq!(
            a.alb.public_key_pem().unwrap(),
            b.alb.public_key_pem().unwrap()
        );
        assert_eq!(a.id.jwk(), b.id.jwk());
        assert_ne!(a.id.kid, a.access.kid);
        assert_eq!(a.session_key, b.session_key);
        assert_eq!(a.client_secret, b.client_secret);
        assert_eq!(
            (&a.api_key_id, &a.api_secret),
            (&b.api_key_id, &b.api_secret)
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_keys_file_from_before_the_api_keys_gains_them_once() {
        let dir = std::env::temp_dir().join(format!("cl-state-{}", uuid()));
        let a = LabKeys::load_or_create(&dir).unwrap();
        let path = dir.join("keys.json");
        let mut old: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let map = old.as_object_mut().unwrap();
        map.remove("api_key_id");
        map.remove("api_secret");
        std::fs::write(&path, old.to_string()).unwrap();
        let b = LabKeys::load_or_create(&dir).unwrap();
        let c = LabKeys::load_or_create(&dir).unwrap();
        assert_eq!(a.alb.kid, b.alb.kid, "the other keys are kept");
        assert!(b.api_key_id.starts_with("AKIA") && b.api_key_id.len() == 20);
        assert_eq!(
            (&b.api_key_id, &b.api_secret),
            (&c.api_key_id, &c.api_secret)
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn ids_look_like_aws_ids() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(cognito_kid().ends_with('='));
        assert!(random_alnum(16).bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(random_alnum(16).len(), 16);
    }
}
