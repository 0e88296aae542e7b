//! Generated secrets, from the OS random source: passwords (letters and
//! digits only, so they need no escaping in URLs, shells or config files),
//! access key ids, salts.

use base64::Engine;

use crate::error::{Error, Result};
use crate::kind::contract::SecretForm;

/// A new secret of `form`.
pub fn generate(form: SecretForm) -> Result<String> {
    match form {
        SecretForm::Password => pick(
            b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789",
            24,
        ),
        SecretForm::AccessKey => pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 20),
        SecretForm::Salt => {
            let mut salt = [0u8; 16];
            random(&mut salt)?;
            Ok(base64::engine::general_purpose::STANDARD.encode(salt))
        }
    }
}

/// The secret a service keeps under `name` in the state: a password under
/// the service's own name (as always), others as `service.name`.
pub fn state_key(service: &str, name: &str) -> String {
    if name == "password" {
        service.to_string()
    } else {
        format!("{service}.{name}")
    }
}

fn pick(alphabet: &[u8], len: usize) -> Result<String> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - (256 % alphabet.len());
    while out.len() < len {
        random(&mut buf)?;
        for b in buf.iter().map(|b| *b as usize).filter(|b| *b < limit) {
            if out.len() == len {
                break;
            }
            out.push(alphabet[b % alphabet.len()] as char);
        }
    }
    Ok(out)
}

fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::getrandom(buf).map_err(|e| {
        Error::io(
            "could not read the system's random source to generate a secret",
            std::io::Error::other(e.to_string()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_their_form_and_differ() {
        let a = generate(SecretForm::Password).unwrap();
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, generate(SecretForm::Password).unwrap());
        let key = generate(SecretForm::AccessKey).unwrap();
        assert!(
            key.len() == 20
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        let salt = generate(SecretForm::Salt).unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(salt)
                .unwrap()
                .len(),
            16
        );
    }
}
