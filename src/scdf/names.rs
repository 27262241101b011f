//! Which stream and app names may appear in an SCDF API path.
//!
//! Names come from policies and from alert labels, which anyone who can push an alert controls.
//! Only names made of letters, digits, `-`, `_` and `.` (never `..`) pass, so no label value can
//! change which SCDF path the engine calls.

/// The longest name accepted; SCDF stream names are far shorter in practice.
pub const MAX_NAME_LEN: usize = 255;

/// Why a name cannot be used in an SCDF path, or `None` if it can.
pub fn problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("it is longer than 255 bytes")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        Some("only letters, digits, `-`, `_` and `.` are allowed")
    } else if name.contains("..") {
        Some("it contains `..`")
    } else {
        None
    }
}

pub fn is_valid(name: &str) -> bool {
    problem(name).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_scdf_names() {
        for name in ["scaletest", "time-source", "a_b.c", "v1"] {
            assert!(is_valid(name), "{name}");
        }
    }

    #[test]
    fn rejects_anything_that_could_change_the_path() {
        for name in [
            "", "..", "a/b", "a?b", "a%2Fb", "a b", "a..b", "é", "a#b", "a\nb",
        ] {
            assert!(!is_valid(name), "{name:?}");
        }
        assert!(!is_valid(&"a".repeat(256)));
    }
}
