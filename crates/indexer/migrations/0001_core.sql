-- Blocks, transactions with their receipts, and the indexed height.

CREATE TABLE blocks (
    height       bigint PRIMARY KEY,
    hash         bytea NOT NULL UNIQUE,
    parent_hash  bytea NOT NULL,
    time         timestamptz NOT NULL,
    unix_time    bigint NOT NULL,
    tx_root      bytea NOT NULL,
    receipt_root bytea NOT NULL,
    state_hash   bytea NOT NULL,
    tx_count     integer NOT NULL
);

-- One row per committed transaction, refused ones included (their nonce is used): the signed
-- envelope and its receipt's outcome. Events are in the ev_* tables. `body` is the signed body as
-- jsonb (key order and spacing normalized; a NUL, which jsonb cannot hold, becomes U+FFFD).
CREATE TABLE transactions (
    height        bigint NOT NULL REFERENCES blocks (height),
    tx_index      integer NOT NULL,
    hash          bytea NOT NULL UNIQUE,
    sender        bytea NOT NULL,
    nonce         numeric(20, 0) NOT NULL,
    chain_id      numeric(20, 0) NOT NULL,
    expiry        numeric(20, 0) NOT NULL,
    action        text NOT NULL,
    body          jsonb NOT NULL,
    signature     bytea NOT NULL,
    ok            boolean NOT NULL,
    error_name    text,
    error_message text,
    event_count   integer NOT NULL,
    PRIMARY KEY (height, tx_index)
);
CREATE INDEX transactions_sender ON transactions (sender, height);

-- The last indexed block, written in the same database transaction as that block: a restarted
-- indexer goes on from exactly here.
CREATE TABLE indexer_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    height       bigint NOT NULL REFERENCES blocks (height),
    block_hash   bytea NOT NULL,
    genesis_hash bytea NOT NULL,
    node         text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
