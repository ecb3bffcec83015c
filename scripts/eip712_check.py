#!/usr/bin/env python3
"""Cross-check the node's EIP-712 hashing against eth-account (an independent implementation).

Usage: eip712_check.py BASE_URL PRIVATE_KEY

1. Signs a `deposit` (strategy 1, 1e18) with Account.sign_typed_data over the node's own
   /v1/eip712 template, asserts the signature is canonical (v = 27/28, low s: the only form
   the node accepts), submits it with ?wait=true and asserts it commits with ok == true.
2. Asserts that a signature made for chainId 1 is refused with HTTP 400 and a JSON error,
   both when the envelope claims chain 31337 (wrong signer recovered) and when it says chain 1.
3. Asserts that the next deposit's signature with v written as 0/1 is refused (400
   NonCanonicalV) without using the nonce.
Exits non-zero on the first failed assertion.
"""
import json
import sys
import time
import urllib.error
import urllib.request

from eth_account import Account

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def assert_canonical(signature):
    """v is 27 or 28 and s is at most n/2: the encoding the node accepts."""
    sig = bytes.fromhex(signature[2:])
    v, s = sig[64], int.from_bytes(sig[32:64], "big")
    assert v in (27, 28), f"v = {v}, expected 27 or 28"
    assert s <= SECP256K1_N // 2, f"s = {s:#x} is high"


def call(method, url, payload=None):
    """Returns (HTTP status, parsed JSON body); raises if the body is not JSON."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def signed_tx(acct, template, chain_id, nonce, action, body, expiry):
    """The POST /v1/tx envelope, signed over `template` with its domain's chainId set to `chain_id`."""
    msg = {
        "types": template["types"],
        "primaryType": template["primaryType"],
        "domain": {**template["domain"], "chainId": chain_id},
        "message": {"action": action, "body": body, "nonce": nonce, "expiry": expiry},
    }
    sig = Account.sign_typed_data(acct.key, full_message=msg).signature
    return {"from": acct.address, "chain_id": chain_id, "action": action, "body": body,
            "nonce": nonce, "expiry": expiry, "signature": "0x" + bytes(sig).hex()}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    base, key = sys.argv[1].rstrip("/"), sys.argv[2]
    acct = Account.from_key(key)
    _, template = call("GET", f"{base}/v1/eip712")
    chain = int(template["domain"]["chainId"])
    assert chain == 31337, f"unexpected chainId {chain}"
    action, body = "deposit", json.dumps({"strategy": 1, "amount": str(10**18)}, separators=(",", ":"))
    # The node's clock, not this machine's: a devnet's clock may have been moved forward
    # (`/v1/dev/time`, which the API fuzzer also calls).
    _, health = call("GET", f"{base}/health")
    expiry = int(health.get("now", time.time())) + 600

    # 1. A correctly signed deposit commits.
    _, account = call("GET", f"{base}/v1/accounts/{acct.address}")
    nonce = account["nonce"]
    tx = signed_tx(acct, template, chain, nonce, action, body, expiry)
    assert_canonical(tx["signature"])
    status, ans = call("POST", f"{base}/v1/tx?wait=true", tx)
    print(f"deposit from {acct.address} nonce {nonce}: HTTP {status} -> {json.dumps(ans)[:300]}")
    assert status == 202, f"expected 202, got {status}"
    st = ans["status"]
    assert st.get("status") == "committed", f"not committed: {st}"
    assert st["receipt"]["ok"] is True, f"receipt not ok: {st['receipt']}"
    _, account = call("GET", f"{base}/v1/accounts/{acct.address}")
    assert account["nonce"] == nonce + 1, f"nonce did not advance: {account['nonce']}"

    # 2. A chainId 1 signature is refused with 400 and a JSON {error, message}.
    nonce += 1
    wrong = signed_tx(acct, template, 1, nonce, action, body, expiry)
    cases = {
        "chainId 1 signature, envelope chain 31337": {**wrong, "chain_id": chain},  # must recover another signer
        "chainId 1 signature, envelope chain 1": wrong,  # must be refused as the wrong chain
    }
    for name, tx in cases.items():
        status, err = call("POST", f"{base}/v1/tx?wait=true", tx)
        print(f"{name}: HTTP {status} -> {json.dumps(err)}")
        assert status == 400, f"{name}: expected 400, got {status}"
        assert isinstance(err, dict) and err.get("error") and err.get("message"), f"{name}: not a JSON error"
        assert err["error"] not in ("StaleNonce", "FutureNonce"), f"{name}: refused for its nonce, not its chain"

    # 3. v as the raw parity (0/1) is refused, and the nonce stays unused.
    tx = signed_tx(acct, template, chain, nonce, action, body, expiry)
    assert_canonical(tx["signature"])
    raw_v = tx["signature"][:-2] + format(int(tx["signature"][-2:], 16) - 27, "02x")
    status, err = call("POST", f"{base}/v1/tx", {**tx, "signature": raw_v})
    print(f"v = 0/1: HTTP {status} -> {json.dumps(err)}")
    assert status == 400 and err.get("error") == "NonCanonicalV", f"v = 0/1: expected 400 NonCanonicalV, got {status} {err}"
    _, account = call("GET", f"{base}/v1/accounts/{acct.address}")
    assert account["pending_nonce"] == nonce, f"the refusal used nonce {nonce}: {account}"

    print("EIP-712 check: OK (canonical eth-account signature committed; chainId 1 and v = 0/1 refused)")


if __name__ == "__main__":
    main()
