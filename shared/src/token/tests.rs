use super::*;
use proptest::prelude::*;

fn minted_kind() -> impl Strategy<Value = TokenKind> {
    prop::sample::select(vec![
        TokenKind::Pat,
        TokenKind::Daemon,
        TokenKind::Task,
        TokenKind::Install,
    ])
}

#[test]
fn generated_tokens_have_the_documented_shape() {
    let t = RawToken::generate(TokenKind::Pat).unwrap();
    let raw = t.expose();
    assert_eq!(raw.len(), TOKEN_LEN);
    assert!(raw.starts_with("mul_"));
    assert!(hex::is_lower_hex(&raw[4..]));
    let checksum = format!("{:08x}", crc32fast::hash(&raw.as_bytes()[..36]));
    assert_eq!(&raw[36..], checksum);
}

#[test]
fn two_tokens_differ() {
    let a = RawToken::generate(TokenKind::Pat).unwrap();
    let b = RawToken::generate(TokenKind::Pat).unwrap();
    assert_ne!(a.expose(), b.expose());
}

#[test]
fn cloud_tokens_are_not_minted_here() {
    assert_eq!(
        RawToken::generate(TokenKind::Cloud).unwrap_err(),
        TokenError::NotMintedHere(TokenKind::Cloud)
    );
}

#[test]
fn fixed_vector() {
    // 16 zero bytes; checksum and hash computed independently (Python zlib, hashlib).
    let token = "mul_0000000000000000000000000000000003ab7c4e";
    let parsed = parse(token).unwrap();
    assert_eq!(parsed.kind, TokenKind::Pat);
    assert_eq!(
        parsed.hash().as_str(),
        "3130606579eb63a84c228d01dbc2a8177b60c0bc0faef933293f4945b2b69d3c"
    );
}

#[test]
fn parse_rejects_garbage() {
    assert_eq!(parse("").unwrap_err(), TokenError::UnknownPrefix);
    assert_eq!(parse("xyz_abc").unwrap_err(), TokenError::UnknownPrefix);
    assert_eq!(parse("mul_").unwrap_err(), TokenError::Malformed);
    assert_eq!(parse("mul_zz").unwrap_err(), TokenError::Malformed);
    let t = RawToken::generate(TokenKind::Pat).unwrap();
    let upper = t.expose().to_uppercase().replace("MUL_", "mul_");
    assert!(parse(&upper).is_err());
    let longer = format!("{}0", t.expose());
    assert_eq!(parse(&longer).unwrap_err(), TokenError::Malformed);
}

#[test]
fn cloud_tokens_accept_any_printable_body() {
    assert_eq!(parse("mcn_x").unwrap().kind, TokenKind::Cloud);
    assert_eq!(parse("mcn_a.B-c/9").unwrap().kind, TokenKind::Cloud);
    assert_eq!(parse("mcn_").unwrap_err(), TokenError::Malformed);
    assert_eq!(parse("mcn_a b").unwrap_err(), TokenError::Malformed);
    let max = format!("mcn_{}", "a".repeat(MAX_CLOUD_TOKEN_BODY));
    assert!(parse(&max).is_ok());
    let over = format!("mcn_{}", "a".repeat(MAX_CLOUD_TOKEN_BODY + 1));
    assert_eq!(parse(&over).unwrap_err(), TokenError::Malformed);
}

#[test]
fn secrets_redact_themselves() {
    let t = RawToken::generate(TokenKind::Daemon).unwrap();
    let shown = format!("{t:?} {t} {:?} {:?}", t.hash(), parse(t.expose()).unwrap());
    assert!(!shown.contains(t.expose()));
    assert!(!shown.contains(&t.expose()[12..]));
    assert!(!shown.contains(t.hash().as_str()));
    assert!(shown.contains(t.display_prefix()));
    assert_eq!(t.display_prefix().len(), DISPLAY_PREFIX_LEN);
}

#[test]
fn hash_is_sha256_hex() {
    // sha256("abc"), FIPS 180-2 test vector.
    assert_eq!(
        TokenHash::of("abc").as_str(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(TokenHash::from_hex(TokenHash::of("abc").as_str()).is_some());
    assert!(TokenHash::from_hex("AB").is_none());
    assert!(TokenHash::from_hex(&"A".repeat(64)).is_none());
}

#[test]
fn kinds_round_trip_by_name() {
    for kind in TokenKind::ALL {
        assert_eq!(TokenKind::from_name(kind.as_str()), Some(kind));
        assert_eq!(kind.prefix(), format!("{}_", kind.as_str()));
    }
    assert_eq!(TokenKind::from_name("nope"), None);
}

proptest! {
    #[test]
    fn generate_parse_round_trip(kind in minted_kind()) {
        let t = RawToken::generate(kind).unwrap();
        let parsed = parse(t.expose()).unwrap();
        prop_assert_eq!(parsed.kind, kind);
        prop_assert_eq!(parsed.expose(), t.expose());
        prop_assert_eq!(parsed.hash(), t.hash());
    }

    #[test]
    fn any_single_character_change_fails(
        kind in minted_kind(),
        pos in 0usize..TOKEN_LEN,
        replacement in prop::sample::select(b"0123456789abcdefghijklmnopqrstuvwxyz_".to_vec()),
    ) {
        let t = RawToken::generate(kind).unwrap();
        let mut bytes = t.expose().as_bytes().to_vec();
        prop_assume!(bytes[pos] != replacement);
        bytes[pos] = replacement;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(parse(&changed).is_err());
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,80}") {
        let _ = parse(&s);
    }
}
