//! `cairn keys`: key files in a directory readable by its owner only.
//!
//! A key file `NAME.json` is Ethereum's keystore v3 (scrypt and AES-128-CTR, the format geth,
//! foundry and wallets read and write) with its `address`, encrypted with a password from
//! `$CAIRN_PASSWORD` or a prompt on the terminal. `--insecure-plaintext` writes the older form,
//! `{"name", "address", "private_key"}`, for throwaway devnet keys; both forms are read.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use alloy_primitives::Address;
use anyhow::{Context, Result, anyhow};
use cairn_node::{
    devnet,
    envelope::{address_of, key_from_bytes},
};
use k256::ecdsa::SigningKey;
use serde_json::{Value, json};

use crate::out::bad_input;

/// The environment variable a key file's password is read from (else a prompt).
pub const PASSWORD_ENV: &str = "CAIRN_PASSWORD";

/// The environment variable naming the default signing key (`--key` wins over it).
pub const KEY_ENV: &str = "CAIRN_KEY";

/// How a new key file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Keystore v3, encrypted with a password ([`PASSWORD_ENV`] or a prompt).
    Encrypted,
    /// The private key in hex (devnet convenience).
    Plaintext,
}

/// The directory keys live in: `--keys-dir`, else `$CAIRN_HOME/keys`, else `~/.cairn/keys`.
pub fn keys_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("CAIRN_HOME").map(|h| PathBuf::from(h).join("keys")))
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cairn/keys"))
}

/// The signing key's name: `--key`, else `$CAIRN_KEY`.
pub fn key_name(flag: Option<String>) -> Option<String> {
    flag.or_else(|| std::env::var(KEY_ENV).ok().filter(|k| !k.is_empty()))
}

/// A password: `$CAIRN_PASSWORD`, else asked on the terminal (twice with `confirm`).
fn password(what: &str, confirm: bool) -> Result<String> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(p);
    }
    let no_tty = |e: std::io::Error| {
        bad_input(format!("no password for {what}: set ${PASSWORD_ENV} or run in a terminal ({e})"))
    };
    let p = rpassword::prompt_password(format!("Password for {what}: ")).map_err(no_tty)?;
    if confirm {
        let again = rpassword::prompt_password("Again: ").map_err(no_tty)?;
        if again != p {
            return Err(bad_input("the passwords differ"));
        }
    }
    if p.is_empty() {
        return Err(bad_input(format!(
            "an empty password for {what}: type one, or set ${PASSWORD_ENV} (or use --insecure-plaintext on a devnet)"
        )));
    }
    Ok(p)
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(bad_input(format!("key name {name:?}: use letters, digits, - and _")));
    }
    Ok(())
}

/// Creates `dir` (owner-only) and `dir/NAME.json` empty (owner-only, never over an existing
/// file).
fn reserve(dir: &Path, name: &str) -> Result<(PathBuf, std::fs::File)> {
    check_name(name)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {} to its owner", dir.display()))?;
    }
    let path = dir.join(format!("{name}.json"));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => bad_input(format!("key {name:?} exists already: {}", path.display())),
        _ => anyhow!("creating {}: {e}", path.display()),
    })?;
    Ok((path, file))
}

/// Writes `key` as `dir/NAME.json`, never over an existing file.
pub fn write_key(dir: &Path, name: &str, key: &SigningKey, protection: Protection) -> Result<PathBuf> {
    let password = match protection {
        Protection::Encrypted => Some(password(&format!("the new key {name:?}"), true)?),
        Protection::Plaintext => None,
    };
    let (path, mut file) = reserve(dir, name)?;
    let written = (|| -> Result<()> {
        let body = match &password {
            None => json!({"name": name, "address": address_of(key), "private_key": devnet::key_hex(key)}),
            Some(password) => {
                // eth-keystore writes the file itself (over the reserved, owner-only one); the
                // address is added as geth does, so that listing needs no password.
                let file_name = format!("{name}.json");
                eth_keystore::encrypt_key(dir, &mut rand::rngs::OsRng, key.to_bytes(), password, Some(&file_name))
                    .map_err(|e| anyhow!("encrypting {}: {e}", path.display()))?;
                let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
                v["address"] = json!(alloy_primitives::hex::encode(address_of(key)));
                v
            }
        };
        // This handle is still at offset 0: replace whatever the file holds.
        file.set_len(0)?;
        file.write_all(serde_json::to_string_pretty(&body)?.as_bytes())?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// A key file's address without decrypting it (`None` when the file does not hold one).
fn file_address(v: &Value) -> Option<Address> {
    let a = v["address"].as_str()?;
    let hex = a.strip_prefix("0x").unwrap_or(a);
    format!("0x{hex}").parse().ok()
}

fn read_file(dir: &Path, name: &str) -> Result<(PathBuf, Value)> {
    check_name(name)?;
    let path = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        bad_input(format!(
            "--key {name}: no key file {} ({e}); --key takes a name from `cairn keys list` or a 0x private key",
            path.display()
        ))
    })?;
    let v = serde_json::from_str(&text).map_err(|e| bad_input(format!("{}: not a key file: {e}", path.display())))?;
    Ok((path, v))
}

/// Whether a key file is a keystore (encrypted).
fn is_keystore(v: &Value) -> bool {
    v.get("crypto").or_else(|| v.get("Crypto")).is_some()
}

/// Reads a key by name from `dir` (keystore v3, asking for its password, or plaintext), or a
/// raw `0x` private key.
pub fn read_key(dir: &Path, name: &str) -> Result<SigningKey> {
    if name.starts_with("0x") && name.len() == 66 {
        return parse_key(name);
    }
    let (path, v) = read_file(dir, name)?;
    if let Some(hex) = v["private_key"].as_str() {
        return parse_key(hex);
    }
    if !is_keystore(&v) {
        return Err(bad_input(format!("{}: neither a keystore nor a plaintext key file", path.display())));
    }
    check_keystore(&path, &v)?;
    let password = password(&format!("key {name:?}"), false)?;
    let bytes = eth_keystore::decrypt_key(&path, password).map_err(|e| match e {
        eth_keystore::KeystoreError::MacMismatch => bad_input(format!(
            "wrong password for key {name:?} ({}; from ${PASSWORD_ENV} if set, else the prompt)",
            path.display()
        )),
        e => bad_input(format!("{}: cannot decrypt: {e}", path.display())),
    })?;
    let arr: [u8; 32] =
        bytes.try_into().map_err(|_| bad_input(format!("{}: the key inside is not 32 bytes", path.display())))?;
    let key = key_from_bytes(&arr)
        .ok_or_else(|| bad_input(format!("{}: not a valid secp256k1 private key", path.display())))?;
    if let Some(a) = file_address(&v)
        && a != address_of(&key)
    {
        return Err(bad_input(format!("{}: the key is not the file's address {a}", path.display())));
    }
    Ok(key)
}

/// Refuses the keystores the decoder cannot take (it assumes these shapes).
fn check_keystore(path: &Path, v: &Value) -> Result<()> {
    let crypto = &v["crypto"];
    let hex_len = |s: &Value| s.as_str().map(|s| s.trim_start_matches("0x").len());
    let ok = crypto["cipher"] == "aes-128-ctr"
        && crypto["kdfparams"]["dklen"].as_u64() == Some(32)
        && hex_len(&crypto["cipherparams"]["iv"]) == Some(32);
    if ok {
        Ok(())
    } else {
        Err(bad_input(format!(
            "{}: an unsupported keystore (expected version 3, aes-128-ctr, a 32-byte derived key, a 16-byte iv)",
            path.display()
        )))
    }
}

/// The address of a key name or a `0x` private key, without a password when the file says it.
pub fn read_address(dir: &Path, name: &str) -> Result<Address> {
    if !(name.starts_with("0x") && name.len() == 66) {
        let (_, v) = read_file(dir, name)?;
        if let Some(a) = file_address(&v) {
            return Ok(a);
        }
    }
    read_key(dir, name).map(|k| address_of(&k))
}

/// Parses a `0x` private key.
pub fn parse_key(hex: &str) -> Result<SigningKey> {
    let forms = "a private key is 0x and 64 hex digits";
    let bytes = alloy_primitives::hex::decode(hex).map_err(|e| bad_input(format!("{forms}: {e}")))?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| bad_input(format!("{forms} (32 bytes)")))?;
    key_from_bytes(&arr).ok_or_else(|| bad_input("not a valid secp256k1 private key (zero or beyond the curve order)"))
}

/// A new random key.
pub fn random_key() -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    loop {
        getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness: {e}"))?;
        if let Some(k) = key_from_bytes(&seed) {
            return Ok(k);
        }
    }
}

/// `cairn keys create NAME`: a new random key.
pub fn create(dir: &Path, name: &str, protection: Protection) -> Result<Value> {
    let key = random_key()?;
    let path = write_key(dir, name, &key, protection)?;
    Ok(
        json!({"name": name, "address": address_of(&key), "file": path, "encrypted": protection == Protection::Encrypted}),
    )
}

/// `cairn keys import NAME 0xKEY`.
pub fn import(dir: &Path, name: &str, hex: &str, protection: Protection) -> Result<Value> {
    let key = parse_key(hex)?;
    let path = write_key(dir, name, &key, protection)?;
    Ok(
        json!({"name": name, "address": address_of(&key), "file": path, "encrypted": protection == Protection::Encrypted}),
    )
}

/// `cairn keys list`: names, addresses, and which files are encrypted.
pub fn list(dir: &Path) -> Result<Value> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Value::Array(out));
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&p)?).with_context(|| format!("reading {}", p.display()))?;
        let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        out.push(json!({"name": name, "address": file_address(&v), "encrypted": is_keystore(&v)}));
    }
    Ok(Value::Array(out))
}

/// What `keys create` says after the key: a new key holds nothing.
pub fn funding_hint(address: &Value) -> String {
    let a = address.as_str().unwrap_or("ADDRESS");
    format!("A new key starts with nothing. On a devnet, fund it with: cairn dev fund {a}")
}
