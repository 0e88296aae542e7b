//! Generated passwords: 24 characters from the OS random source, letters and
//! digits only so that they need no escaping in URLs, shells or config files.

pub fn generate_password() -> crate::error::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut out = String::with_capacity(24);
    let mut buf = [0u8; 64];
    while out.len() < 24 {
        getrandom::getrandom(&mut buf).map_err(|e| {
            crate::error::Error::io(
                "could not read the system's random source to generate a password",
                std::io::Error::other(e.to_string()),
            )
        })?;
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - (256 % ALPHABET.len());
        for b in buf.iter().map(|b| *b as usize).filter(|b| *b < limit) {
            if out.len() == 24 {
                break;
            }
            out.push(ALPHABET[b % ALPHABET.len()] as char);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_long_and_differ() {
        let a = super::generate_password().unwrap();
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, super::generate_password().unwrap());
    }
}
