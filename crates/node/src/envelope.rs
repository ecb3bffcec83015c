//! Signed transactions: every state-machine transaction travels as EIP-712 typed data.
//!
//! One typed struct covers every action, so a browser wallet can sign any of them and show the
//! user what they sign: `CairnTx(string action,string body,uint64 nonce,uint64 expiry)` under
//! the domain `{name: "Cairn", version: "1", chainId, verifyingContract}`. `action` is the
//! transaction kind (`deposit`, `delegate_to`, ...), `body` the JSON object of its fields, exactly
//! the bytes that were signed. The sender is recovered from the signature (libsecp256k1), never
//! declared. The transaction's id is keccak256(signing hash ‖ signer); replay protection is the
//! per-account nonce, never the signature bytes.
//!
//! Only the canonical encoding of a signature is accepted, as `eth_signTypedData_v4` and
//! `Domain::sign` produce it: `v` is 27 or 28 (the raw parity 0/1 and EIP-155 values are
//! `NonCanonicalV`; there is no second, separately typed form) and `s` is in the lower half of
//! the curve order (`HighS`: the twin `(r, n − s, ¬v)` recovers the same signer, and refusing it
//! leaves one accepted signature per message and key). A `from` written in mixed case must carry
//! its EIP-55 checksum (`BadChecksum`); all-lowercase and all-uppercase hex claim no checksum and
//! are accepted.

use alloy_primitives::{Address, B256, Signature, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolStruct, eip712_domain, sol};
use cairn_keccak::keccak256_each;
use cairn_primitives::named_address;
use cairn_state::Tx;
use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};

sol! {
    /// The one EIP-712 struct a Cairn transaction is signed as.
    #[derive(Debug)]
    struct CairnTx {
        string action;
        string body;
        uint64 nonce;
        uint64 expiry;
    }
}

/// The EIP-712 domain name.
pub const DOMAIN_NAME: &str = "Cairn";
/// The EIP-712 domain version.
pub const DOMAIN_VERSION: &str = "1";
/// Largest accepted `body`, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Furthest in the future an expiry may be at submission, in seconds (a day): a transaction
/// that cannot be included now cannot wait in the mempool forever.
pub const MAX_EXPIRY_SECONDS: u64 = 86_400;

/// The protocol's pseudo-address, the domain's `verifyingContract`.
pub fn verifying_contract() -> Address {
    named_address("cairn/protocol")
}

/// The EIP-712 domain of a chain.
pub fn domain(chain_id: u64) -> Eip712Domain {
    eip712_domain! {
        name: DOMAIN_NAME,
        version: DOMAIN_VERSION,
        chain_id: chain_id,
        verifying_contract: verifying_contract(),
    }
}

/// A signed transaction as submitted: the typed-data message and a 65-byte `r‖s‖v` signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedTx {
    /// The signer's address: the signature must recover it. Mixed case must be its EIP-55
    /// checksum; all-lowercase or all-uppercase hex is accepted as is.
    #[schema(value_type = String, pattern = "^0x[0-9a-fA-F]{40}$")]
    #[serde(deserialize_with = "checksummed")]
    pub from: Address,
    /// The chain the signature is for (part of the EIP-712 domain).
    #[schema(format = UInt64)]
    pub chain_id: u64,
    /// Transaction kind, e.g. `deposit`.
    pub action: String,
    /// JSON object of the action's fields, as signed.
    pub body: String,
    /// The signer's next nonce.
    #[schema(format = UInt64)]
    pub nonce: u64,
    /// Last unix second at which the transaction may be included.
    #[schema(format = UInt64)]
    pub expiry: u64,
    /// `0x`-hex 65-byte signature `r‖s‖v`, canonical: `v` = 27 or 28 and `s` ≤ n/2 (low s);
    /// checked with the signer, so in a batch a bad one is that item's error.
    pub signature: String,
}

/// A transaction whose signature, chain and body checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The transaction's id (`tx_id`).
    pub hash: B256,
    /// The recovered signer.
    pub sender: Address,
    /// Its nonce.
    pub nonce: u64,
    /// Its expiry (unix seconds).
    pub expiry: u64,
    /// The decoded state-machine transaction.
    pub tx: Tx,
    /// What was submitted.
    pub signed: SignedTx,
}

/// Why a signed transaction is refused before it reaches the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
pub enum EnvelopeError {
    /// The signature bytes are not a 65-byte hex signature.
    #[error("malformed signature: {reason}")]
    MalformedSignature {
        /// Why.
        reason: String,
    },
    /// The signature's `v` byte is not 27 or 28 (0/1 and EIP-155 values are not accepted).
    #[error("signature v is {v}, expected 27 or 28")]
    NonCanonicalV {
        /// The `v` byte.
        v: u8,
    },
    /// The signature's `s` is in the upper half of the curve order (its low-s twin is the
    /// accepted form).
    #[error("signature s {s:#x} is above n/2 = {max:#x}: use the low-s form (r, n - s, v ^ 1)")]
    HighS {
        /// The signature's `s`.
        s: U256,
        /// The largest accepted `s`, n/2.
        max: U256,
    },
    /// A mixed-case `from` whose case is not its EIP-55 checksum.
    #[error("from {from} has a wrong EIP-55 checksum: expected {expected} (or all one case)")]
    BadChecksum {
        /// The address as written.
        from: String,
        /// Its checksummed form.
        expected: String,
    },
    /// No signer can be recovered from the signature and message.
    #[error("signature does not recover a signer: {reason}")]
    BadSignature {
        /// Why.
        reason: String,
    },
    /// The action is not a transaction kind.
    #[error("unknown action {action:?}")]
    UnknownAction {
        /// The action.
        action: String,
    },
    /// The body does not decode as the action's fields.
    #[error("body of {action} does not decode: {reason}")]
    BadBody {
        /// The action.
        action: String,
        /// The decoder's message.
        reason: String,
    },
    /// The body is larger than allowed.
    #[error("body is {size} bytes, more than {max}")]
    BodyTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The expiry is further ahead than a mempool keeps transactions.
    #[error("expiry {expiry} is more than {max_ahead} s after now ({now})")]
    ExpiryTooFar {
        /// Its expiry.
        expiry: u64,
        /// The node's time.
        now: u64,
        /// The limit.
        max_ahead: u64,
    },
    /// The transaction was signed for another chain.
    #[error("signed for chain {chain_id}, this is chain {expected}")]
    WrongChain {
        /// Declared chain.
        chain_id: u64,
        /// This chain.
        expected: u64,
    },
    /// The signature recovers another address than the declared signer.
    #[error("signature recovers {recovered}, not the declared signer {from}")]
    SignerMismatch {
        /// Declared.
        from: Address,
        /// Recovered.
        recovered: Address,
    },
    /// The transaction expired before it could be included.
    #[error("expired at {expiry}, now is {now}")]
    Expired {
        /// Its expiry.
        expiry: u64,
        /// The node's time.
        now: u64,
    },
}

impl EnvelopeError {
    /// The variant's name, for API errors.
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

/// Domain separators and the struct's type hash are cached per chain: they would cost half of
/// a signing hash.
#[derive(Debug, Clone)]
pub struct Domain {
    /// Chain id.
    pub chain_id: u64,
    separator: B256,
    type_hash: B256,
}

/// The fields of a signed message, as hashed.
#[derive(Debug, Clone, Copy)]
struct Fields<'a> {
    action: &'a str,
    body: &'a str,
    nonce: u64,
    expiry: u64,
}

impl<'a> Fields<'a> {
    fn of(signed: &'a SignedTx) -> Self {
        Self { action: &signed.action, body: &signed.body, nonce: signed.nonce, expiry: signed.expiry }
    }
}

impl Domain {
    /// The domain of `chain_id`.
    pub fn new(chain_id: u64) -> Self {
        Self {
            chain_id,
            separator: domain(chain_id).separator(),
            type_hash: keccak256(CairnTx::eip712_encode_type().as_bytes()),
        }
    }

    /// EIP-712 `encodeData` of a `CairnTx` after its type hash: the five 32-byte words.
    fn struct_words(&self, action: B256, body: B256, nonce: u64, expiry: u64) -> [u8; 160] {
        let mut w = [0u8; 160];
        w[..32].copy_from_slice(self.type_hash.as_slice());
        w[32..64].copy_from_slice(action.as_slice());
        w[64..96].copy_from_slice(body.as_slice());
        w[120..128].copy_from_slice(&nonce.to_be_bytes());
        w[152..160].copy_from_slice(&expiry.to_be_bytes());
        w
    }

    /// `0x19 0x01 ‖ domain separator ‖ hashStruct`: what the signing hash hashes.
    fn digest_input(&self, struct_hash: B256) -> [u8; 66] {
        let mut buf = [0u8; 66];
        buf[0] = 0x19;
        buf[1] = 0x01;
        buf[2..34].copy_from_slice(self.separator.as_slice());
        buf[34..].copy_from_slice(struct_hash.as_slice());
        buf
    }

    /// The EIP-712 signing hash of a message.
    pub fn signing_hash(&self, action: &str, body: &str, nonce: u64, expiry: u64) -> B256 {
        let words = self.struct_words(keccak256(action), keccak256(body), nonce, expiry);
        keccak256(self.digest_input(keccak256(words)))
    }

    /// The signing hashes of many messages, in order: each of the three hashing steps runs
    /// over the whole batch, eight messages at a time on SIMD lanes where the CPU has them.
    fn signing_hashes(&self, msgs: &[Fields<'_>]) -> Vec<B256> {
        let strings: Vec<&[u8]> = msgs.iter().flat_map(|m| [m.action.as_bytes(), m.body.as_bytes()]).collect();
        let mut string_hashes = Vec::with_capacity(strings.len());
        keccak256_each(&strings, &mut string_hashes);
        let words: Vec<[u8; 160]> = msgs
            .iter()
            .zip(string_hashes.chunks_exact(2))
            .map(|(m, h)| self.struct_words(h[0], h[1], m.nonce, m.expiry))
            .collect();
        let mut struct_hashes = Vec::with_capacity(words.len());
        keccak256_each(&words, &mut struct_hashes);
        let inputs: Vec<[u8; 66]> = struct_hashes.iter().map(|h| self.digest_input(*h)).collect();
        let mut out = Vec::with_capacity(inputs.len());
        keccak256_each(&inputs, &mut out);
        out
    }

    /// The checks before recovery: chain, size, body and signature encoding.
    fn check(&self, signed: &SignedTx) -> Result<(Tx, Signature), EnvelopeError> {
        if signed.chain_id != self.chain_id {
            return Err(EnvelopeError::WrongChain { chain_id: signed.chain_id, expected: self.chain_id });
        }
        if signed.body.len() > MAX_BODY_BYTES {
            return Err(EnvelopeError::BodyTooLarge { size: signed.body.len(), max: MAX_BODY_BYTES });
        }
        let tx = decode_tx(&signed.action, &signed.body)?;
        Ok((tx, parse_signature(&signed.signature)?))
    }

    /// Checks size, decodes the body and recovers the signer (the CPU-heavy step).
    pub fn verify(&self, signed: SignedTx) -> Result<Verified, EnvelopeError> {
        let (tx, sig) = self.check(&signed)?;
        let hash = self.signing_hash(&signed.action, &signed.body, signed.nonce, signed.expiry);
        let sender = Address::from_raw_public_key(&recover_key(&sig, &hash)?);
        verified(signed, tx, sender, tx_id(hash, sender))
    }

    /// [`Domain::verify`] of each transaction, in order: the same checks and answers, with the
    /// batch's keccak hashes (signing hashes, signer addresses, ids) computed side by side.
    pub fn verify_batch(&self, batch: Vec<SignedTx>) -> Vec<Result<Verified, EnvelopeError>> {
        let mut checked: Vec<Result<(Tx, Signature), EnvelopeError>> = batch.iter().map(|s| self.check(s)).collect();
        let ok: Vec<usize> = (0..batch.len()).filter(|&i| checked[i].is_ok()).collect();
        let fields: Vec<Fields<'_>> = ok.iter().map(|&i| Fields::of(&batch[i])).collect();
        let hashes = self.signing_hashes(&fields);
        // (index, signing hash, public key) of each signature that recovers.
        let mut keys: Vec<(usize, B256, [u8; 64])> = Vec::with_capacity(ok.len());
        for (&i, hash) in ok.iter().zip(&hashes) {
            let Ok((_, sig)) = &checked[i] else { continue };
            match recover_key(sig, hash) {
                Ok(key) => keys.push((i, *hash, key)),
                Err(e) => checked[i] = Err(e),
            }
        }
        let mut key_hashes = Vec::with_capacity(keys.len());
        keccak256_each(&keys.iter().map(|k| k.2).collect::<Vec<_>>(), &mut key_hashes);
        let senders: Vec<Address> = key_hashes.iter().map(|h| Address::from_slice(&h[12..])).collect();
        let id_inputs: Vec<[u8; 52]> = keys.iter().zip(&senders).map(|(k, s)| tx_id_input(k.1, *s)).collect();
        let mut ids = Vec::with_capacity(id_inputs.len());
        keccak256_each(&id_inputs, &mut ids);
        let mut found = keys.iter().zip(senders).zip(ids).map(|((k, s), id)| (k.0, s, id)).peekable();
        batch
            .into_iter()
            .zip(checked)
            .enumerate()
            .map(|(i, (signed, c))| {
                let (tx, _) = c?;
                match found.next_if(|f| f.0 == i) {
                    Some((_, sender, id)) => verified(signed, tx, sender, id),
                    // Every checked item either recovered (listed in order) or became an error.
                    None => Err(EnvelopeError::BadSignature { reason: "not recovered".into() }),
                }
            })
            .collect()
    }

    /// Signs a transaction with a secp256k1 key (CLI, devnet workers, tests).
    pub fn sign(&self, key: &SigningKey, tx: &Tx, nonce: u64, expiry: u64) -> SignedTx {
        let (action, body) = encode_tx(tx);
        let hash = self.signing_hash(&action, &body, nonce, expiry);
        let signature = sign_hash(key, hash);
        SignedTx {
            from: address_of(key),
            chain_id: self.chain_id,
            action,
            body,
            nonce,
            expiry,
            signature: hex(&signature),
        }
    }
}

/// A transaction's id: keccak256(signing hash ‖ signer). Two signers of the same message get
/// different ids; the id does not depend on the signature bytes.
pub fn tx_id(signing_hash: B256, sender: Address) -> B256 {
    keccak256(tx_id_input(signing_hash, sender))
}

/// `signing hash ‖ signer`, what a transaction's id hashes.
fn tx_id_input(signing_hash: B256, sender: Address) -> [u8; 52] {
    let mut buf = [0u8; 52];
    buf[..32].copy_from_slice(signing_hash.as_slice());
    buf[32..].copy_from_slice(sender.as_slice());
    buf
}

/// The 64-byte public key (x ‖ y) that signed `hash`, recovered with libsecp256k1.
fn recover_key(sig: &Signature, hash: &B256) -> Result<[u8; 64], EnvelopeError> {
    let key =
        sig.recover_from_prehash_secp256k1(hash).map_err(|e| EnvelopeError::BadSignature { reason: e.to_string() })?;
    let mut out = [0u8; 64];
    out.copy_from_slice(&key.serialize_uncompressed()[1..]);
    Ok(out)
}

/// The verified transaction, once its recovered signer is the declared one.
fn verified(signed: SignedTx, tx: Tx, sender: Address, hash: B256) -> Result<Verified, EnvelopeError> {
    if sender != signed.from {
        return Err(EnvelopeError::SignerMismatch { from: signed.from, recovered: sender });
    }
    Ok(Verified { hash, sender, nonce: signed.nonce, expiry: signed.expiry, tx, signed })
}

/// Signs a 32-byte prehash: 65 bytes `r‖s‖v` with `v` = 27/28.
pub fn sign_hash(key: &SigningKey, hash: B256) -> [u8; 65] {
    match key.sign_prehash_recoverable(hash.as_slice()) {
        Ok((sig, recid)) => Signature::from_signature_and_parity(sig, recid.is_y_odd()).as_bytes(),
        // Signing a 32-byte prehash with a valid key cannot fail (k256 rejects only short input).
        Err(_) => [0; 65],
    }
}

/// The address of a key.
pub fn address_of(key: &SigningKey) -> Address {
    Address::from_private_key(key)
}

/// A transaction's action name (its serde name, e.g. `register_as_operator`) and body JSON.
pub fn encode_tx(tx: &Tx) -> (String, String) {
    match serde_json::to_value(tx) {
        Ok(serde_json::Value::Object(m)) => match m.into_iter().next() {
            Some((action, body)) => (action, body.to_string()),
            None => (String::new(), "{}".to_owned()),
        },
        Ok(serde_json::Value::String(action)) => (action, "{}".to_owned()),
        _ => (String::new(), "{}".to_owned()),
    }
}

/// Decodes an action and its body into a transaction.
pub fn decode_tx(action: &str, body: &str) -> Result<Tx, EnvelopeError> {
    decode_direct(action, body).map_or_else(|| decode_tracked(action, body), Ok)
}

/// The transaction read straight from the text `{"action":body}`, when that reads: no JSON tree
/// and no path tracking. The text reads only when `body` is exactly one JSON value (the object's
/// closing brace must end it), so the result is what [`decode_tracked`] gives; anything else is
/// left to it, for its error. So is an action that is not a plain snake_case name, and a body
/// with a `[` anywhere: read from text, serde_json takes an array for a struct variant (the
/// transaction's or a nested one's), which the tracked decoder refuses.
fn decode_direct(action: &str, body: &str) -> Option<Tx> {
    let plain = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    if action.is_empty() || !action.bytes().all(plain) || body.contains('[') {
        return None;
    }
    let mut text = String::with_capacity(action.len().saturating_add(body.len()).saturating_add(5));
    text.push_str("{\"");
    text.push_str(action);
    text.push_str("\":");
    text.push_str(body);
    text.push('}');
    serde_json::from_str(&text).ok()
}

/// Decodes through a JSON tree with the failing field's path, naming it in the error.
fn decode_tracked(action: &str, body: &str) -> Result<Tx, EnvelopeError> {
    let fields: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| EnvelopeError::BadBody { action: action.to_owned(), reason: e.to_string() })?;
    let tagged = serde_json::json!({ action: fields });
    let tx: Tx = serde_path_to_error::deserialize(tagged).map_err(|e| {
        let reason = e.inner().to_string();
        if reason.starts_with("unknown variant") {
            return EnvelopeError::UnknownAction { action: action.to_owned() };
        }
        // The path starts with the action (the enum's tag); the field follows it.
        let field = e.path().iter().skip(1).map(ToString::to_string).collect::<Vec<_>>().join(".");
        let reason = match (field.is_empty(), reason.starts_with("must ")) {
            (true, _) => reason,
            (false, true) => format!("{field} {reason}"),
            (false, false) => format!("{field}: {reason}"),
        };
        EnvelopeError::BadBody { action: action.to_owned(), reason }
    })?;
    Ok(tx)
}

/// Parses a `0x`-hex 65-byte `r‖s‖v` signature, refusing every non-canonical encoding.
fn parse_signature(s: &str) -> Result<Signature, EnvelopeError> {
    let bad = |reason: String| EnvelopeError::MalformedSignature { reason };
    let bytes = alloy_primitives::hex::decode(s).map_err(|e| bad(e.to_string()))?;
    let bytes: [u8; 65] = bytes.try_into().map_err(|b: Vec<u8>| bad(format!("{} bytes, expected 65", b.len())))?;
    let v = bytes[64];
    if v != 27 && v != 28 {
        return Err(EnvelopeError::NonCanonicalV { v });
    }
    let sig = Signature::from_raw_array(&bytes).map_err(|e| bad(e.to_string()))?;
    if sig.normalize_s().is_some() {
        return Err(EnvelopeError::HighS { s: sig.s(), max: half_order() });
    }
    Ok(sig)
}

/// n/2, the largest low `s` (n is secp256k1's group order).
fn half_order() -> U256 {
    U256::from_be_bytes(SECP256K1_N) >> 1
}

/// secp256k1's group order n.
const SECP256K1_N: [u8; 32] =
    alloy_primitives::hex!("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

/// Checks a written address's EIP-55 checksum: mixed case must be the checksum, one case
/// claims none. Malformed hex is left to the address parser.
pub fn check_checksum(text: &str) -> Result<(), EnvelopeError> {
    let hex = text.strip_prefix("0x").unwrap_or(text);
    let has = |f: fn(&char) -> bool| hex.chars().any(|c| f(&c));
    if !(has(char::is_ascii_lowercase) && has(char::is_ascii_uppercase)) {
        return Ok(());
    }
    let Ok(address) = hex.parse::<Address>() else { return Ok(()) };
    let expected = address.to_checksum(None);
    if expected.strip_prefix("0x") == Some(hex) {
        Ok(())
    } else {
        Err(EnvelopeError::BadChecksum { from: text.to_owned(), expected })
    }
}

/// Deserializes `from`: any case in binary formats, the EIP-55 rule in JSON.
fn checksummed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
    use serde::de::Error;
    if !d.is_human_readable() {
        return Address::deserialize(d);
    }
    let text = String::deserialize(d)?;
    check_checksum(&text).map_err(D::Error::custom)?;
    text.parse().map_err(D::Error::custom)
}

/// `0x`-prefixed lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    alloy_primitives::hex::encode_prefixed(bytes)
}

/// A secp256k1 key from 32 bytes (must be a valid scalar).
pub fn key_from_bytes(bytes: &[u8; 32]) -> Option<SigningKey> {
    SigningKey::from_bytes(bytes.into()).ok()
}

/// A deterministic development key: keccak256(`label`) as the scalar.
pub fn dev_key(label: &str) -> SigningKey {
    let mut seed = keccak256(label.as_bytes());
    loop {
        if let Some(k) = key_from_bytes(&seed.0) {
            return k;
        }
        seed = keccak256(seed);
    }
}

/// Asserts that two runs of verification gave the same answer to every transaction, in order:
/// the same id, signer and nonce, or the same error.
#[cfg(test)]
pub(crate) fn assert_same_answers<'a>(
    a: impl ExactSizeIterator<Item = Result<&'a Verified, &'a EnvelopeError>>,
    b: impl ExactSizeIterator<Item = Result<&'a Verified, &'a EnvelopeError>>,
) {
    assert_eq!(a.len(), b.len(), "answers");
    for (i, (p, q)) in a.zip(b).enumerate() {
        match (p, q) {
            (Ok(p), Ok(q)) => assert_eq!((p.hash, p.sender, p.nonce), (q.hash, q.sender, q.nonce), "item {i}"),
            (Err(p), Err(q)) => assert_eq!(p, q, "item {i}"),
            _ => panic!("item {i}: {p:?} against {q:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_primitives::{AssetId, U256};

    /// A vector from an independent implementation: eth-account 0.14.0
    /// (`Account.sign_typed_data(key, full_message=…)` over the `/v1/eip712` template) with the
    /// private key 0x11…11 (see scripts/eip712_check.py for the live check against a node).
    #[test]
    fn eth_account_vector_hashes_signs_and_verifies_the_same() {
        let body = r#"{"amount":"1000000000000000000","strategy":1}"#;
        let d = Domain::new(31_337);
        assert_eq!(
            verifying_contract(),
            "0x7D91e4DfD5604Bfbd3Ef0Ad522212c61424E6ef7".parse::<Address>().expect("address")
        );
        let hash = d.signing_hash("deposit", body, 7, 1_800_000_000);
        assert_eq!(
            hash,
            "0xa94b5c07359d992e2f894cbb765b8f2f411f89ed9b8eb195c45794cf2ba06117".parse::<B256>().expect("hash")
        );
        let their_sig = "0x914d0ff8a38ae2f610324cb30f8aacc13a4860ac2723d9c37b29a5f13a72063b\
                         676bc4f934d7fa6a7d0f31842366103fef1594ac0180e91b393ca8aa9e0b70fc1c";
        let key = key_from_bytes(&[0x11; 32]).expect("key");
        let from: Address = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A".parse().expect("address");
        assert_eq!(address_of(&key), from);
        // RFC 6979 on both sides: the very same signature bytes.
        assert_eq!(hex(&sign_hash(&key, hash)), their_sig);
        let signed = SignedTx {
            from,
            chain_id: 31_337,
            action: "deposit".into(),
            body: body.into(),
            nonce: 7,
            expiry: 1_800_000_000,
            signature: their_sig.to_owned(),
        };
        let v = d.verify(signed).expect("their signature verifies");
        assert_eq!(v.sender, from);
    }

    #[test]
    fn libsecp256k1_and_k256_recover_the_same_signer() {
        let d = Domain::new(7);
        for i in 0..64u32 {
            let key = dev_key(&format!("envelope/{i}"));
            let hash = d.signing_hash("transfer", &format!("{{\"n\":{i}}}"), u64::from(i), 99);
            let sig = Signature::from_raw_array(&sign_hash(&key, hash)).expect("65 bytes");
            let fast = sig.recover_address_from_prehash(&hash).expect("libsecp256k1");
            let (ksig, recid) = (sig.to_k256().expect("k256 signature"), sig.recid());
            let vk = k256::ecdsa::VerifyingKey::recover_from_prehash(hash.as_slice(), &ksig, recid).expect("k256");
            assert_eq!(fast, Address::from_public_key(&vk));
            assert_eq!(fast, address_of(&key));
        }
    }

    #[test]
    fn every_transaction_round_trips_through_action_and_body() {
        let txs = [
            Tx::Transfer { asset: AssetId(2), to: Address::repeat_byte(1), amount: U256::from(5) },
            Tx::CreatePod {},
            Tx::RegisterService { metadata_uri: "x".into() },
        ];
        for tx in txs {
            let (action, body) = encode_tx(&tx);
            assert_eq!(decode_tx(&action, &body), Ok(tx));
        }
        assert_eq!(decode_tx("nope", "{}"), Err(EnvelopeError::UnknownAction { action: "nope".into() }));
        assert!(matches!(decode_tx("transfer", "[1]"), Err(EnvelopeError::BadBody { .. })));
        assert!(matches!(decode_tx("transfer", "{"), Err(EnvelopeError::BadBody { .. })));
        // A bad field is named, with the forms it accepts.
        for (amount, got) in [("-5", "-5"), (r#""-5""#, r#""-5""#), ("1.5", "1.5")] {
            let err = decode_tx("deposit", &format!(r#"{{"strategy": 1, "amount": {amount}}}"#)).expect_err(amount);
            let text = err.to_string();
            assert!(
                text.contains(&format!("amount must be a non-negative integer, e.g. 1000 or 1e18 (got {got})")),
                "{text}"
            );
        }
        let err = decode_tx("deposit", r#"{"strategy": "one", "amount": 1}"#).expect_err("strategy").to_string();
        assert!(err.contains("strategy: invalid type"), "{err}");
    }

    fn sig_of(signed: &SignedTx) -> Signature {
        let bytes = alloy_primitives::hex::decode(&signed.signature).expect("hex");
        Signature::from_raw(&bytes).expect("65 bytes")
    }

    #[test]
    fn the_signer_makes_canonical_signatures() {
        let d = Domain::new(7);
        for i in 0..64u64 {
            let signed = d.sign(&dev_key(&format!("envelope/canonical/{i}")), &Tx::CreatePod {}, i, 10);
            let v = alloy_primitives::hex::decode(&signed.signature).expect("hex")[64];
            assert!(v == 27 || v == 28, "v = {v}");
            assert!(sig_of(&signed).normalize_s().is_none(), "low s");
            assert!(parse_signature(&signed.signature).is_ok());
        }
    }

    #[test]
    fn a_high_s_twin_is_refused_naming_its_s() {
        let d = Domain::new(7);
        let signed = d.sign(&dev_key("envelope/twin"), &Tx::CreatePod {}, 0, 10);
        let sig = sig_of(&signed);
        // (r, n − s, ¬v) is the same signature in its high-s form: it recovers the same signer.
        let n = U256::from_be_bytes(SECP256K1_N);
        let twin = Signature::new(sig.r(), n - sig.s(), !sig.v());
        let hash = d.signing_hash(&signed.action, &signed.body, signed.nonce, signed.expiry);
        assert_eq!(twin.recover_address_from_prehash(&hash).ok(), Some(signed.from));
        let mut other = signed.clone();
        other.signature = hex(&twin.as_bytes());
        let err = d.verify(other).unwrap_err();
        assert_eq!(err, EnvelopeError::HighS { s: n - sig.s(), max: n >> 1 });
        assert_eq!(err.name(), "HighS");
        assert!(d.verify(signed).is_ok(), "the low-s form verifies");
    }

    #[test]
    fn v_must_be_27_or_28() {
        let d = Domain::new(7);
        let signed = d.sign(&dev_key("envelope/v"), &Tx::CreatePod {}, 0, 10);
        let mut bytes = alloy_primitives::hex::decode(&signed.signature).expect("hex");
        let parity = bytes[64] - 27;
        for v in [parity, 35 + parity, 37 + parity, 29, 255] {
            bytes[64] = v;
            let other = SignedTx { signature: hex(&bytes), ..signed.clone() };
            assert_eq!(d.verify(other).unwrap_err(), EnvelopeError::NonCanonicalV { v });
        }
    }

    #[test]
    fn a_mixed_case_from_must_be_its_eip55_checksum() {
        let good = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A";
        assert_eq!(check_checksum(good), Ok(()));
        assert_eq!(check_checksum(&good.to_lowercase()), Ok(()));
        assert_eq!(check_checksum(&format!("0x{}", good[2..].to_uppercase())), Ok(()));
        let wrong = good.replace("19E7", "19e7");
        assert_eq!(
            check_checksum(&wrong),
            Err(EnvelopeError::BadChecksum { from: wrong.clone(), expected: good.to_owned() })
        );
        // JSON: the same rule, with the values in the message; binary formats are not text.
        let d = Domain::new(7);
        let signed = d.sign(&key_from_bytes(&[0x11; 32]).expect("key"), &Tx::CreatePod {}, 0, 10);
        let mut json = serde_json::to_value(&signed).expect("json");
        json["from"] = serde_json::Value::String(wrong.clone());
        let err = serde_json::from_value::<SignedTx>(json.clone()).unwrap_err().to_string();
        assert!(err.contains(&wrong) && err.contains(good), "{err}");
        json["from"] = serde_json::Value::String(good.to_owned());
        assert_eq!(serde_json::from_value::<SignedTx>(json).expect("checksummed"), signed);
        let bytes = postcard::to_allocvec(&signed).expect("postcard");
        assert_eq!(postcard::from_bytes::<SignedTx>(&bytes).expect("postcard"), signed);
    }

    /// The hand-written signing hash (cached type hash, the batch's lanes) against alloy's
    /// `eip712_signing_hash` of the `sol!` struct, over bodies of zero to four keccak blocks.
    #[test]
    fn signing_hashes_equal_alloys_eip712() {
        let d = Domain::new(31_337);
        let msgs: Vec<(String, String, u64, u64)> = (0..41u64)
            .map(|i| {
                let body: String = (0..(i * 13) % 600).map(|j| char::from(b'a' + ((i + j) % 26) as u8)).collect();
                (["deposit", "transfer", ""][(i % 3) as usize].to_owned(), body, i * 7_919, u64::MAX - i)
            })
            .collect();
        let fields: Vec<Fields<'_>> =
            msgs.iter().map(|(a, b, n, e)| Fields { action: a, body: b, nonce: *n, expiry: *e }).collect();
        let batch = d.signing_hashes(&fields);
        for ((action, body, nonce, expiry), got) in msgs.iter().zip(&batch) {
            let tx = CairnTx { action: action.clone(), body: body.clone(), nonce: *nonce, expiry: *expiry };
            let want = tx.eip712_signing_hash(&domain(31_337));
            assert_eq!(*got, want, "batch, body of {} bytes", body.len());
            assert_eq!(d.signing_hash(action, body, *nonce, *expiry), want, "one, body of {} bytes", body.len());
        }
    }

    /// A batch gives what verifying each alone gives, in order, for every kind of refusal mixed
    /// among good transactions (more than eight, so the lanes run).
    #[test]
    fn a_batch_verifies_each_as_alone() {
        let d = Domain::new(7);
        let keys: Vec<_> = (0..4).map(|i| dev_key(&format!("envelope/batch/{i}"))).collect();
        let to = address_of(&keys[0]);
        let mut batch: Vec<SignedTx> = (0..30u64)
            .map(|i| {
                let tx = Tx::Transfer { asset: AssetId(0), to, amount: U256::from(i + 1) };
                d.sign(&keys[(i % 4) as usize], &tx, i, 1_000)
            })
            .collect();
        batch[1].chain_id = 8;
        batch[4].body = "x".repeat(MAX_BODY_BYTES + 1);
        batch[9].body = "{\"asset\":0}".into();
        batch[12].signature = "0x12".into();
        batch[14].from = address_of(&keys[3]);
        let mut bytes = alloy_primitives::hex::decode(&batch[18].signature).expect("hex");
        bytes[64] = 30;
        batch[18].signature = hex(&bytes);
        // An r that is no point's x: recovery itself fails.
        let unrecoverable = (1u64..)
            .map(|r| Signature::new(U256::from(r), U256::from(1), false))
            .find(|s| s.recover_from_prehash_secp256k1(&B256::repeat_byte(1)).is_err())
            .expect("some small r is off the curve");
        batch[21].signature = hex(&unrecoverable.as_bytes());
        let alone: Vec<_> = batch.iter().cloned().map(|t| d.verify(t)).collect();
        let together = d.verify_batch(batch);
        assert_eq!(together.len(), 30);
        assert_same_answers(alone.iter().map(Result::as_ref), together.iter().map(Result::as_ref));
        let refused: Vec<&str> = together.iter().filter_map(|r| r.as_ref().err().map(EnvelopeError::name)).collect();
        assert_eq!(
            refused,
            [
                "WrongChain",
                "BodyTooLarge",
                "BadBody",
                "MalformedSignature",
                "SignerMismatch",
                "NonCanonicalV",
                "BadSignature"
            ]
        );
        let ok = together.iter().find_map(|r| r.as_ref().ok()).expect("a good one");
        assert_eq!(ok.hash, tx_id(d.signing_hash(&ok.signed.action, &ok.signed.body, ok.nonce, ok.expiry), ok.sender));
    }

    /// The direct read gives the tracked decoder's transaction for every kind, and leaves every
    /// text that is not exactly one JSON value (or repeats a field) to it and its error.
    #[test]
    fn the_direct_decode_agrees_with_the_tracked_one() {
        let to: Address = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A".parse().expect("address");
        for tx in [
            Tx::Transfer { asset: AssetId(0), to, amount: U256::from(5) },
            Tx::CreatePod {},
            Tx::Deposit { strategy: cairn_primitives::StrategyId(3), amount: U256::MAX },
        ] {
            let (action, body) = encode_tx(&tx);
            assert_eq!(decode_direct(&action, &body), Some(tx.clone()), "{action}");
            assert_eq!(decode_tracked(&action, &body), Ok(tx.clone()), "{action}");
            let spaced = format!(" \n{body}\t ");
            assert_eq!(decode_direct(&action, &spaced), Some(tx), "{action} in whitespace");
        }
        let good = r#"{"asset":0,"to":"0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A","amount":"5"}"#;
        for body in [
            format!("{good}}}, {{"),
            format!("{good}, \"x\": {{}}"),
            format!("{good} {good}"),
            r#"{"asset":0,"asset":0,"to":"0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A","amount":"5"}"#.to_owned(),
            r#"{"asset":0,"amount":"5"}"#.to_owned(),
            String::new(),
            // The array form of a struct variant reads from text but not from a JSON tree.
            r#"[0,"0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A","5"]"#.to_owned(),
        ] {
            assert_eq!(decode_direct("transfer", &body), None, "{body}");
            assert!(decode_tx("transfer", &body).is_err() || body.contains("\"asset\":0,\"asset\""), "{body}");
            assert_eq!(decode_tx("transfer", &body), decode_tracked("transfer", &body), "{body}");
        }
        assert_eq!(decode_direct("Transfer", good), None, "only snake_case names read directly");
        assert!(decode_tx("create_pod", "[]").is_err(), "no array form for an empty struct variant");
        let nested = r#"{"action":{"set_param":["faucet_enabled",1]}}"#;
        assert_eq!(decode_direct("propose", nested), None);
        assert!(decode_tx("propose", nested).is_err(), "nor for a nested one");
        assert_eq!(decode_direct("transfer\":{}, \"deposit", good), None);
        assert_eq!(decode_tx("Transfer", good), Err(EnvelopeError::UnknownAction { action: "Transfer".into() }));
    }
}
