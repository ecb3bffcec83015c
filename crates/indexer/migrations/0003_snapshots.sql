-- Daily snapshots of the node's state, read from its API when the indexer is at the node's head
-- and a block of a new UTC day has been indexed. Each snapshot is of exactly one height: the
-- node's head is read before and after, and a snapshot whose head moved is not kept.

CREATE TABLE snapshots (
    day      date PRIMARY KEY,
    height   bigint NOT NULL REFERENCES blocks (height),
    taken_at timestamptz NOT NULL DEFAULT now()
);

-- A staker's position in a strategy (`GET /v1/stakers/{address}`).
CREATE TABLE snap_positions (
    day                 date NOT NULL REFERENCES snapshots (day),
    staker              bytea NOT NULL,
    strategy            bigint NOT NULL,
    delegated_to        bytea,
    deposit_shares      numeric(78, 0) NOT NULL,
    withdrawable_shares numeric(78, 0) NOT NULL,
    withdrawable_tokens numeric(78, 0) NOT NULL,
    PRIMARY KEY (day, staker, strategy)
);

-- An operator's delegated shares and magnitudes in a strategy (`GET /v1/operators`).
CREATE TABLE snap_operator_shares (
    day                  date NOT NULL REFERENCES snapshots (day),
    operator             bytea NOT NULL,
    strategy             bigint NOT NULL,
    shares               numeric(78, 0) NOT NULL,
    max_magnitude        numeric(20, 0) NOT NULL,
    encumbered_magnitude numeric(20, 0) NOT NULL,
    PRIMARY KEY (day, operator, strategy)
);

-- An operator's allocation to an operator set in a strategy (`GET /v1/operators`).
CREATE TABLE snap_magnitudes (
    day             date NOT NULL REFERENCES snapshots (day),
    operator        bytea NOT NULL,
    set_service     bytea NOT NULL,
    set_id          bigint NOT NULL,
    strategy        bigint NOT NULL,
    magnitude       numeric(20, 0) NOT NULL,
    pending         numeric(21, 0),
    effect_block    numeric(20, 0),
    allocated_stake numeric(78, 0) NOT NULL,
    PRIMARY KEY (day, operator, set_service, set_id, strategy)
);

-- A vault's receipt token rate and size (`GET /v1/vaults`).
CREATE TABLE snap_vault_rates (
    day          date NOT NULL REFERENCES snapshots (day),
    vault        bigint NOT NULL,
    settled_rate numeric(78, 0) NOT NULL,
    current_rate numeric(78, 0) NOT NULL,
    supply       numeric(78, 0) NOT NULL,
    total_assets numeric(78, 0) NOT NULL,
    reserve      numeric(78, 0) NOT NULL,
    PRIMARY KEY (day, vault)
);

-- Every strategy: its asset and address (genesis strategies have no `strategy_created` event),
-- shares, balance and exchange rate (`POST /v1/query {"strategy": ...}`).
CREATE TABLE snap_strategies (
    day           date NOT NULL REFERENCES snapshots (day),
    strategy      bigint NOT NULL,
    asset         bigint NOT NULL,
    address       bytea NOT NULL,
    total_shares  numeric(78, 0) NOT NULL,
    balance       numeric(78, 0) NOT NULL,
    exchange_rate numeric(78, 0) NOT NULL,
    PRIMARY KEY (day, strategy)
);

-- The protocol parameters in force (`POST /v1/query {"params": {}}`), e.g. the withdrawal delay.
CREATE TABLE snap_params (
    day    date PRIMARY KEY REFERENCES snapshots (day),
    params jsonb NOT NULL
);
