//! Tokens: kinds, minting, parsing (prefix + checksum, no I/O) and hashing.
//!
//! Format of the tokens we mint: `prefix + 32 hex (16 CSPRNG bytes) + 8 hex CRC32 of
//! everything before it` = 44 characters. The checksum lets the edge turn away typos and
//! garbage before any KV or origin call. Only `hex(sha256(token))` is ever stored.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::hex;

/// Length of every token we mint.
pub const TOKEN_LEN: usize = 44;
const PREFIX_LEN: usize = 4;
const RANDOM_BYTES: usize = 16;
const CHECKSUM_HEX_LEN: usize = 8;
/// Cloud PATs are minted by Fleet; we only bound their size.
pub const MAX_CLOUD_TOKEN_BODY: usize = 512;
/// How much of a token may appear in logs and listings.
pub const DISPLAY_PREFIX_LEN: usize = 12;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Personal access token, `mul_`.
    Pat,
    /// Daemon token, `mdt_`.
    Daemon,
    /// Task token, `mat_`.
    Task,
    /// Install token, `mit_`.
    Install,
    /// Cloud PAT, `mcn_`, minted and verified by Fleet.
    Cloud,
}

impl TokenKind {
    pub const ALL: [TokenKind; 5] = [
        TokenKind::Pat,
        TokenKind::Daemon,
        TokenKind::Task,
        TokenKind::Install,
        TokenKind::Cloud,
    ];

    /// The short name used in cache keys and resolve requests (`mul`, `mdt`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Pat => "mul",
            TokenKind::Daemon => "mdt",
            TokenKind::Task => "mat",
            TokenKind::Install => "mit",
            TokenKind::Cloud => "mcn",
        }
    }

    /// The prefix a raw token starts with (`mul_`, …).
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Pat => "mul_",
            TokenKind::Daemon => "mdt_",
            TokenKind::Task => "mat_",
            TokenKind::Install => "mit_",
            TokenKind::Cloud => "mcn_",
        }
    }

    pub fn from_name(name: &str) -> Option<TokenKind> {
        TokenKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    fn from_prefix(raw: &str) -> Option<TokenKind> {
        TokenKind::ALL
            .into_iter()
            .find(|k| raw.starts_with(k.prefix()))
    }

    /// Tollgate mints every kind but cloud PATs.
    pub fn is_minted_here(self) -> bool {
        self != TokenKind::Cloud
    }
}

/// On the wire a kind is its short name (`"mul"`); an unknown name does not parse.
impl Serialize for TokenKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TokenKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TokenKind, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        TokenKind::from_name(&name).ok_or_else(|| de::Error::custom("unknown token kind"))
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("unknown token prefix")]
    UnknownPrefix,
    #[error("malformed token")]
    Malformed,
    #[error("token checksum mismatch")]
    BadChecksum,
    #[error("{0} tokens are not minted by Tollgate")]
    NotMintedHere(TokenKind),
    #[error("the system random number generator failed")]
    Random,
}

/// A raw token. It is a secret: `Debug` and `Display` show only the display prefix.
#[derive(Clone)]
pub struct RawToken(String);

impl RawToken {
    /// Mints a new token of `kind` from the OS (or JS) CSPRNG.
    pub fn generate(kind: TokenKind) -> Result<RawToken, TokenError> {
        if !kind.is_minted_here() {
            return Err(TokenError::NotMintedHere(kind));
        }
        let mut bytes = [0u8; RANDOM_BYTES];
        getrandom::fill(&mut bytes).map_err(|_| TokenError::Random)?;
        let mut raw = String::with_capacity(TOKEN_LEN);
        raw.push_str(kind.prefix());
        raw.push_str(&::hex::encode(bytes));
        let checksum = crc32fast::hash(raw.as_bytes());
        raw.push_str(&format!("{checksum:08x}"));
        Ok(RawToken(raw))
    }

    /// A token as a person or a file presented it, not yet checked (see [`parse`]).
    pub fn from_presented(raw: &str) -> RawToken {
        RawToken(raw.to_owned())
    }

    /// The token itself, for the one place it is shown: the response that creates it,
    /// and the `Authorization` header of a client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }

    /// The first 12 characters: enough to tell tokens apart, too few to use.
    pub fn display_prefix(&self) -> &str {
        display_prefix(&self.0)
    }
}

/// Compared through their hashes, in constant time.
impl PartialEq for RawToken {
    fn eq(&self, other: &Self) -> bool {
        self.hash() == other.hash()
    }
}

impl Eq for RawToken {}

/// Serializing shows the secret: only the wire types that must carry it (the response
/// that creates a token, the resolve call for cloud PATs) hold a `RawToken`.
impl Serialize for RawToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Any string: a received token is checked by [`parse`], not here.
impl<'de> Deserialize<'de> for RawToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawToken, D::Error> {
        String::deserialize(d).map(RawToken)
    }
}

impl fmt::Debug for RawToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawToken({}…)", self.display_prefix())
    }
}

impl fmt::Display for RawToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}…", self.display_prefix())
    }
}

fn display_prefix(raw: &str) -> &str {
    let end = raw
        .char_indices()
        .nth(DISPLAY_PREFIX_LEN)
        .map_or(raw.len(), |(i, _)| i);
    &raw[..end]
}

/// A presented token that parsed: its kind is known and, for our own kinds, its
/// checksum holds. It borrows the presented string (this runs on every request at the
/// edge: no copy) and, like every secret here, redacts itself in `Debug`.
#[derive(Clone, Copy)]
pub struct Token<'a> {
    pub kind: TokenKind,
    raw: &'a str,
}

impl<'a> Token<'a> {
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.raw)
    }

    /// The token itself, for the one call that needs it: Fleet verifies cloud PATs raw.
    pub fn expose(&self) -> &'a str {
        self.raw
    }

    /// An owned copy, still redacted, for a wire type that must carry the token.
    pub fn to_raw(&self) -> RawToken {
        RawToken(self.raw.to_owned())
    }
}

impl fmt::Debug for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({:?}, {}…)", self.kind, display_prefix(self.raw))
    }
}

/// Parses a presented token with zero I/O: prefix, shape and checksum.
pub fn parse(input: &str) -> Result<Token<'_>, TokenError> {
    let kind = TokenKind::from_prefix(input).ok_or(TokenError::UnknownPrefix)?;
    let body = &input[PREFIX_LEN..];
    if kind == TokenKind::Cloud {
        let printable = body.bytes().all(|b| b.is_ascii_graphic());
        if body.is_empty() || body.len() > MAX_CLOUD_TOKEN_BODY || !printable {
            return Err(TokenError::Malformed);
        }
        return Ok(Token { kind, raw: input });
    }
    if input.len() != TOKEN_LEN || !hex::is_lower_hex(body) {
        return Err(TokenError::Malformed);
    }
    let (signed, checksum) = input.split_at(TOKEN_LEN - CHECKSUM_HEX_LEN);
    // Compared as numbers: this runs on every request, formatting would allocate.
    if hex::decode_u32(checksum) != Some(crc32fast::hash(signed.as_bytes())) {
        return Err(TokenError::BadChecksum);
    }
    Ok(Token { kind, raw: input })
}

/// Length of a token hash in hex.
pub const HASH_HEX_LEN: usize = 64;

/// `hex(sha256(raw token))`: what the database and the cache key hold. Also a secret
/// (it is the lookup key), so it redacts itself too. Kept on the stack: hashing a token
/// on the hit path allocates nothing.
#[derive(Clone, Copy)]
pub struct TokenHash([u8; HASH_HEX_LEN]);

impl TokenHash {
    pub fn of(raw: &str) -> TokenHash {
        let mut hex = [0u8; HASH_HEX_LEN];
        // 32 bytes always fit 64 hex digits: this cannot fail.
        let _ = ::hex::encode_to_slice(Sha256::digest(raw.as_bytes()), &mut hex);
        TokenHash(hex)
    }

    /// Accepts exactly 64 lowercase hex characters.
    pub fn from_hex(s: &str) -> Option<TokenHash> {
        let bytes: [u8; HASH_HEX_LEN] = s.as_bytes().try_into().ok()?;
        hex::is_lower_hex(s).then_some(TokenHash(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TokenHash {}

/// The wire form is the hex string; anything but 64 lowercase hex digits does not parse.
impl Serialize for TokenHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TokenHash, D::Error> {
        let hex = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        TokenHash::from_hex(&hex).ok_or_else(|| de::Error::custom("not a token hash"))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(…)")
    }
}

#[cfg(test)]
mod tests;
