-- The vault's APR by source, as the node attributes it (`GET /v1/vaults/{id}/rates`): the rate's
-- events carry no split, so each daily snapshot keeps the node's.

CREATE TABLE snap_vault_apr (
    day         date NOT NULL REFERENCES snapshots (day),
    vault       bigint NOT NULL,
    window_days integer NOT NULL,
    source_kind text NOT NULL,
    source      jsonb NOT NULL,
    apr_bps     bigint NOT NULL,
    PRIMARY KEY (day, vault, window_days, source)
);

CREATE VIEW apr_vault_by_source AS
SELECT a.day, s.height, a.vault, a.window_days, a.source_kind, a.source, a.apr_bps,
       a.apr_bps::numeric / 100 AS apr_percent
FROM snap_vault_apr a
JOIN snapshots s ON s.day = a.day;

COMMENT ON VIEW apr_vault_by_source IS
'One row per snapshot day, vault, window (7 or 30 days) and source: the node''s annualised APR in basis points over the window ending at the snapshot, in total (source_kind = ''total'') and for each source of the rate''s moves (base_staking, beacon_penalties, service with its address, slash_reserve, slash, fees, ...), as /v1/vaults/{id}/rates gives it. apr_vault recomputes the total from the rate events; the split by source exists only here.';
