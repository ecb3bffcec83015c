#!/usr/bin/env python3
"""Cross-check the node's EIP-712 hashing against eth-account (an independent implementation).

Usage: eip712_check.py BASE_URL PRIVATE_KEY

1. Signs a `deposit` (strategy 1, 1e18) with Account.sign_typed_data over the node's own
   /v1/eip712 template, submits it with ?wait=true and asserts it commits with ok == true.
2. Asserts that a signature made for chainId 1 is refused with HTTP 400 and a JSON error,
   both when the envelope claims chain 31337 (wrong signer recovered) and when it says chain 1.
Exits non-zero on the first failed assertion.
"""
import json
import sys
import time
import urllib.error
import urllib.request

from eth_account import Account


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
    expiry = int(time.time()) + 600

    # 1. A correctly signed deposit commits.
    _, account = call("GET", f"{base}/v1/accounts/{acct.address}")
    nonce = account["nonce"]
    status, ans = call("POST", f"{base}/v1/tx?wait=true", signed_tx(acct, template, chain, nonce, action, body, expiry))
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

    print("EIP-712 check: OK (eth-account signature committed; chainId 1 signatures refused)")


if __name__ == "__main__":
    main()
