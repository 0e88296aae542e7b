//! SCRAM-SHA-256 verifiers, as PostgreSQL stores them
//! (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`).
//!
//! berth computes a service's verifier itself, from its password and a salt
//! kept in the stack's state, and sets it on the server; a PgBouncer in
//! front of that server gets the same verifier in its auth file, which is
//! what lets it authenticate clients and pass their SCRAM proof on to the
//! server — with no password stored in plain text anywhere.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// PostgreSQL's default iteration count.
const ITERATIONS: u32 = 4096;

/// The verifier of `password` with `salt` (base64). `None` when the salt is
/// not base64.
pub fn verifier(password: &str, salt: &str) -> Option<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let salt_bytes = b64.decode(salt).ok()?;
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt_bytes, ITERATIONS, &mut salted);
    let hmac = |key: &[u8], text: &[u8]| {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
        mac.update(text);
        Some(mac.finalize().into_bytes())
    };
    let client_key = hmac(&salted, b"Client Key")?;
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key")?;
    Some(format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        b64.encode(&salt_bytes),
        b64.encode(stored_key),
        b64.encode(server_key)
    ))
}

#[cfg(test)]
mod tests {
    /// The same computation by Python's hashlib and hmac.
    #[test]
    fn matches_an_independent_computation() {
        assert_eq!(
            super::verifier("pencil", "W22ZaJ0SNY7soEsUEjb6gQ==").as_deref(),
            Some("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")
        );
        assert_eq!(super::verifier("x", "not base64!"), None);
    }
}
