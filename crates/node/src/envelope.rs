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

/// Domain separators are cached per chain: they cost half of a signing hash.
#[derive(Debug, Clone)]
pub struct Domain {
    /// Chain id.
    pub chain_id: u64,
    separator: B256,
}

impl Domain {
    /// The domain of `chain_id`.
    pub fn new(chain_id: u64) -> Self {
        Self { chain_id, separator: domain(chain_id).separator() }
    }

    /// The EIP-712 signing hash of a message.
    pub fn signing_hash(&self, action: &str, body: &str, nonce: u64, expiry: u64) -> B256 {
        let msg = CairnTx { action: action.to_owned(), body: body.to_owned(), nonce, expiry };
        let mut buf = [0u8; 66];
        buf[0] = 0x19;
        buf[1] = 0x01;
        buf[2..34].copy_from_slice(self.separator.as_slice());
        buf[34..].copy_from_slice(msg.eip712_hash_struct().as_slice());
        keccak256(buf)
    }

    /// Checks size, decodes the body and recovers the signer (the CPU-heavy step).
    pub fn verify(&self, signed: SignedTx) -> Result<Verified, EnvelopeError> {
        if signed.chain_id != self.chain_id {
            return Err(EnvelopeError::WrongChain { chain_id: signed.chain_id, expected: self.chain_id });
        }
        if signed.body.len() > MAX_BODY_BYTES {
            return Err(EnvelopeError::BodyTooLarge { size: signed.body.len(), max: MAX_BODY_BYTES });
        }
        let tx = decode_tx(&signed.action, &signed.body)?;
        let sig = parse_signature(&signed.signature)?;
        let hash = self.signing_hash(&signed.action, &signed.body, signed.nonce, signed.expiry);
        let sender = sig
            .recover_address_from_prehash(&hash)
            .map_err(|e| EnvelopeError::BadSignature { reason: e.to_string() })?;
        if sender != signed.from {
            return Err(EnvelopeError::SignerMismatch { from: signed.from, recovered: sender });
        }
        let hash = tx_id(hash, sender);
        Ok(Verified { hash, sender, nonce: signed.nonce, expiry: signed.expiry, tx, signed })
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
    let mut buf = [0u8; 52];
    buf[..32].copy_from_slice(signing_hash.as_slice());
    buf[32..].copy_from_slice(sender.as_slice());
    keccak256(buf)
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
}
