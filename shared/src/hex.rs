//! Lowercase hex, the only encoding our wire formats use. Encoding is the `hex` crate's
//! (`hex::encode`, `hex::encode_to_slice` into stack buffers); what is here is what no
//! crate does: decoding and checking that refuse upper case, since everything we verify
//! was produced by us in lower case.

/// Parses up to 8 lowercase hex digits into a u32 (the checksum field).
pub(crate) fn decode_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    s.bytes()
        .try_fold(0u32, |acc, b| Some(acc << 4 | u32::from(nibble(b)?)))
}

/// Decodes lowercase hex only: the formats we verify are produced by us in lowercase,
/// so anything else is not ours.
pub(crate) fn decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

pub(crate) fn is_lower_hex(s: &str) -> bool {
    // No early exit: a branch-free fold over 40 bytes beats a branchy one.
    s.bytes().fold(true, |ok, b| {
        ok & (b.wrapping_sub(b'0') < 10 || b.wrapping_sub(b'a') < 6)
    })
}

fn nibble(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = [0u8, 1, 0x7f, 0x80, 0xff];
        assert_eq!(::hex::encode(bytes), "00017f80ff");
        assert_eq!(decode("00017f80ff").as_deref(), Some(&bytes[..]));
    }

    #[test]
    fn rejects_upper_case_and_odd_length() {
        assert_eq!(decode("AB"), None);
        assert_eq!(decode("abc"), None);
        assert!(!is_lower_hex("0A"));
    }
}
