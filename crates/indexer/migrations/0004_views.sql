-- Views: the questions people ask of the mirror. docs/indexer.md ("Views") explains each one, with
-- example queries and what is exact or an estimate.
--
-- Conventions, for every view:
-- * Event order is (height, tx_index, event_index); "latest" means last in that order.
-- * "Now" is the indexed head (indexer_state.height and its block's time), never the wall clock,
--   so a view answers the same on a database that stopped following.
-- * Amounts stay numeric(78,0)-sized integers. A division that yields an amount rounds down
--   (`div`), as the protocol's do. WAD is 10^18. Only APR columns carry decimals, at a stated scale.
-- * Operator shares are sum(operator_shares_increased) - sum(operator_shares_decreased). A slash
--   already appears there: its delegated part is an operator_shares_decreased with staker
--   0x00..00, while operator_shares_slashed.total_slashed_shares also counts the withdrawal
--   queue's part (shares no longer delegated). Subtracting it again would count the slash twice.
-- * Genesis creates strategies without events (the genesis writes no receipts), so a strategy made
--   at genesis has no strategy_created row: its asset and address are NULL here.

-- TVL per UTC day and strategy, cumulative to the end of each day.
CREATE VIEW tvl_daily AS
WITH
-- Beacon shares credited to a pod owner: the strategy is the one whose deposit scaling factor
-- the credit just set (same transaction, the event right before, or two before when the owner
-- is delegated and an operator_shares_increased sits in between).
pod_credit AS (
    SELECT p.height, p.tx_index, p.event_index, p.shares, d.strategy
    FROM ev_beacon p
    CROSS JOIN LATERAL (
        SELECT d.strategy FROM ev_strategy d
        WHERE d.height = p.height AND d.tx_index = p.tx_index AND d.staker = p.owner
          AND d.event = 'deposit_scaling_factor_updated'
          AND d.event_index BETWEEN p.event_index - 2 AND p.event_index - 1
        ORDER BY d.event_index DESC LIMIT 1
    ) d
    WHERE p.event = 'pod_shares_updated'
),
flow (strategy, height, deposited, withdrawn, burned, shares) AS (
    -- token deposits: tokens in, shares minted
    SELECT strategy, height, amount, 0::numeric, 0::numeric, shares
    FROM ev_strategy WHERE event = 'deposit'
    UNION ALL
    -- beacon-chain ETH proven into pods (wei; one share is one wei)
    SELECT strategy, height, shares, 0, 0, shares FROM pod_credit
    UNION ALL
    -- withdrawals completed as tokens: tokens out, shares burned (the queued event names the
    -- strategies; completed as shares, nothing leaves the strategy)
    SELECT u.strategy, c.height, 0, u.tokens, 0, -u.shares
    FROM ev_withdrawal c
    JOIN ev_withdrawal q ON q.event = 'withdrawal_queued' AND q.staker = c.staker AND q.nonce = c.nonce
    CROSS JOIN LATERAL unnest(q.strategies, c.shares, c.tokens) AS u (strategy, shares, tokens)
    WHERE c.event = 'withdrawal_completed' AND c.receive_as_tokens
    UNION ALL
    -- slashed shares burned or redistributed: their tokens leave. A token strategy burns the
    -- shares (it emits its new exchange rate just before); the beacon strategy only records them.
    SELECT b.strategy, b.height, 0, 0, b.tokens,
           CASE WHEN EXISTS (
               SELECT 1 FROM ev_strategy r
               WHERE r.height = b.height AND r.tx_index = b.tx_index AND r.event_index = b.event_index - 1
                 AND r.event = 'exchange_rate_emitted' AND r.strategy = b.strategy
           ) THEN -b.shares ELSE 0 END
    FROM ev_slashing b WHERE b.event = 'burn_or_redistributable_shares_decreased'
    UNION ALL
    -- a strategy created by a transaction starts its series that day
    SELECT strategy, height, 0, 0, 0, 0 FROM ev_strategy WHERE event = 'strategy_created'
),
daily AS (
    SELECT f.strategy, (b.time AT TIME ZONE 'UTC')::date AS day,
           sum(f.deposited) AS deposited, sum(f.withdrawn) AS withdrawn,
           sum(f.burned) AS burned, sum(f.shares) AS shares
    FROM flow f JOIN blocks b ON b.height = f.height
    GROUP BY 1, 2
),
last_day AS (
    SELECT (b.time AT TIME ZONE 'UTC')::date AS day
    FROM blocks b
    WHERE b.height = coalesce((SELECT height FROM indexer_state), (SELECT max(height) FROM blocks))
),
grid AS (
    SELECT s.strategy, g.day::date AS day
    FROM (SELECT strategy, min(day) AS first_day FROM daily GROUP BY strategy) s
    CROSS JOIN last_day l
    CROSS JOIN LATERAL generate_series(s.first_day::timestamp, l.day::timestamp, interval '1 day') AS g (day)
),
-- the last exchange rate of each day with one
day_rate AS (
    SELECT DISTINCT ON (e.strategy, (b.time AT TIME ZONE 'UTC')::date)
           e.strategy, (b.time AT TIME ZONE 'UTC')::date AS day, e.rate
    FROM ev_strategy e JOIN blocks b ON b.height = e.height
    WHERE e.event = 'exchange_rate_emitted'
    ORDER BY e.strategy, (b.time AT TIME ZONE 'UTC')::date, e.height DESC, e.tx_index DESC, e.event_index DESC
),
cumulative AS (
    SELECT g.day, g.strategy,
           sum(coalesce(d.deposited, 0)) OVER w AS deposited,
           sum(coalesce(d.withdrawn, 0)) OVER w AS withdrawn,
           sum(coalesce(d.burned, 0)) OVER w AS burned,
           sum(coalesce(d.shares, 0)) OVER w AS total_shares,
           r.rate,
           count(r.rate) OVER w AS rate_group
    FROM grid g
    LEFT JOIN daily d ON d.strategy = g.strategy AND d.day = g.day
    LEFT JOIN day_rate r ON r.strategy = g.strategy AND r.day = g.day
    WINDOW w AS (PARTITION BY g.strategy ORDER BY g.day)
),
-- days without a rate event keep the previous day's
carried AS (
    SELECT c.*, first_value(c.rate) OVER (PARTITION BY c.strategy, c.rate_group ORDER BY c.day) AS last_rate
    FROM cumulative c
)
SELECT c.day, c.strategy, coalesce(sc.asset, ss.asset) AS asset,
       coalesce(sc.address, ss.address) AS strategy_address,
       c.deposited, c.withdrawn, c.burned,
       c.deposited - c.withdrawn - c.burned AS net_deposited,
       c.total_shares,
       coalesce(c.last_rate, 1000000000000000000) AS exchange_rate,
       div(c.total_shares * coalesce(c.last_rate, 1000000000000000000), 1000000000000000000) AS tokens_at_rate
FROM carried c
LEFT JOIN ev_strategy sc ON sc.event = 'strategy_created' AND sc.strategy = c.strategy
-- genesis strategies have no strategy_created event: the latest snapshot knows them
LEFT JOIN snap_strategies ss ON ss.strategy = c.strategy AND ss.day = (SELECT max(day) FROM snap_strategies);

COMMENT ON VIEW tvl_daily IS
'One row per UTC day (of block time) and strategy, from the strategy''s first event to the indexed head''s day (days without events filled): cumulative tokens deposited, withdrawn (withdrawals completed as tokens) and burned or redistributed (slashes cleared), net_deposited = deposited - withdrawn - burned, total shares, the last exchange rate emitted by that day (WAD tokens per share) and tokens_at_rate = total_shares * rate / 1e18. net_deposited ignores exchange-rate growth (donations) and, for the beacon strategy, beacon-chain losses; tokens_at_rate includes growth up to the last rate event. asset and strategy_address of strategies created at genesis (no strategy_created event) come from the latest snapshot (snap_strategies); NULL before the first snapshot.';

-- Delegated shares per operator and strategy now, and its delegators.
CREATE VIEW operator_stake AS
WITH
shares AS (
    SELECT operator, strategy,
           sum(CASE WHEN event = 'operator_shares_increased' THEN shares ELSE -shares END) AS shares,
           sum(CASE WHEN event = 'operator_shares_decreased'
                     AND staker = '\x0000000000000000000000000000000000000000'::bytea
                    THEN shares ELSE 0 END) AS slashed_shares
    FROM ev_delegation
    WHERE event IN ('operator_shares_increased', 'operator_shares_decreased')
    GROUP BY operator, strategy
),
-- staker_force_undelegated is always followed by a staker_undelegated: the pair below decides.
latest_delegation AS (
    SELECT DISTINCT ON (staker) staker, operator, event
    FROM ev_delegation
    WHERE event IN ('staker_delegated', 'staker_undelegated')
    ORDER BY staker, height DESC, tx_index DESC, event_index DESC
),
delegators AS (
    SELECT operator, count(*) FILTER (WHERE staker <> operator) AS delegators
    FROM latest_delegation WHERE event = 'staker_delegated'
    GROUP BY operator
),
operators AS (
    SELECT DISTINCT operator FROM ev_operator WHERE event = 'operator_registered'
),
rates AS (
    SELECT DISTINCT ON (strategy) strategy, rate
    FROM ev_strategy WHERE event = 'exchange_rate_emitted'
    ORDER BY strategy, height DESC, tx_index DESC, event_index DESC
)
SELECT o.operator, s.strategy,
       coalesce(s.shares, 0) AS shares,
       coalesce(r.rate, 1000000000000000000) AS exchange_rate,
       div(coalesce(s.shares, 0) * coalesce(r.rate, 1000000000000000000), 1000000000000000000) AS tokens,
       coalesce(s.slashed_shares, 0) AS slashed_shares,
       coalesce(d.delegators, 0) AS delegators
FROM operators o
LEFT JOIN shares s ON s.operator = o.operator
LEFT JOIN rates r ON r.strategy = s.strategy
LEFT JOIN delegators d ON d.operator = o.operator;

COMMENT ON VIEW operator_stake IS
'One row per registered operator and strategy it has had shares in (strategy NULL if none): its delegated shares now (operator_shares_increased - operator_shares_decreased, slashes included), tokens = shares * the strategy''s last exchange rate / 1e18, slashed_shares = delegated shares lost to slashes so far, and delegators = stakers other than the operator itself whose latest delegation event delegates them to it (the same on each of the operator''s rows).';

-- Allocations per operator set and the unique stake they make slashable.
CREATE VIEW operator_set_allocations AS
WITH
head AS (
    SELECT coalesce((SELECT height FROM indexer_state), (SELECT max(height) FROM blocks)) AS height
),
alloc AS (
    SELECT * FROM ev_allocation WHERE event = 'allocation_updated'
),
-- In force: the allocation_updated with the latest effect block at or before the head (a slash
-- writes a pending decrease's new target before the current magnitude; by effect block the
-- current one wins until the decrease takes effect).
in_force AS (
    SELECT DISTINCT ON (a.operator, a.set_service, a.set_id, a.strategy)
           a.operator, a.set_service, a.set_id, a.strategy, a.magnitude, a.effect_block
    FROM alloc a, head h
    WHERE a.effect_block <= h.height
    ORDER BY a.operator, a.set_service, a.set_id, a.strategy,
             a.effect_block DESC, a.height DESC, a.tx_index DESC, a.event_index DESC
),
pending AS (
    SELECT DISTINCT ON (a.operator, a.set_service, a.set_id, a.strategy)
           a.operator, a.set_service, a.set_id, a.strategy, a.magnitude, a.effect_block
    FROM alloc a, head h
    WHERE a.effect_block > h.height
    ORDER BY a.operator, a.set_service, a.set_id, a.strategy, a.height DESC, a.tx_index DESC, a.event_index DESC
),
keys AS (
    SELECT DISTINCT operator, set_service, set_id, strategy FROM alloc
),
max_magnitude AS (
    SELECT DISTINCT ON (operator, strategy) operator, strategy, max_magnitude
    FROM ev_allocation WHERE event = 'max_magnitude_updated'
    ORDER BY operator, strategy, height DESC, tx_index DESC, event_index DESC
),
membership AS (
    SELECT DISTINCT ON (operator, set_service, set_id) operator, set_service, set_id, event
    FROM ev_operator_set
    WHERE event IN ('operator_added_to_operator_set', 'operator_removed_from_operator_set')
    ORDER BY operator, set_service, set_id, height DESC, tx_index DESC, event_index DESC
),
joined AS (
    SELECT k.operator, k.set_service, k.set_id, k.strategy,
           coalesce(c.magnitude, 0) AS magnitude,
           p.magnitude AS pending_magnitude,
           p.effect_block AS pending_effect_block,
           coalesce(m.max_magnitude, 1000000000000000000) AS max_magnitude,
           coalesce(s.shares, 0) AS operator_shares,
           coalesce(s.exchange_rate, 1000000000000000000) AS exchange_rate,
           coalesce(mb.event = 'operator_added_to_operator_set', false) AS registered
    FROM keys k
    LEFT JOIN in_force c USING (operator, set_service, set_id, strategy)
    LEFT JOIN pending p USING (operator, set_service, set_id, strategy)
    LEFT JOIN max_magnitude m USING (operator, strategy)
    LEFT JOIN operator_stake s USING (operator, strategy)
    LEFT JOIN membership mb USING (operator, set_service, set_id)
)
SELECT operator, set_service, set_id, strategy, magnitude, pending_magnitude, pending_effect_block,
       max_magnitude, registered, operator_shares,
       -- the node's rounding: floor(shares * floor(magnitude * 1e18 / max) / 1e18)
       CASE WHEN max_magnitude = 0 THEN 0
            ELSE div(operator_shares * div(magnitude * 1000000000000000000, max_magnitude), 1000000000000000000)
       END AS allocated_stake,
       CASE WHEN max_magnitude = 0 THEN 0
            ELSE div(div(operator_shares * div(magnitude * 1000000000000000000, max_magnitude), 1000000000000000000)
                     * exchange_rate, 1000000000000000000)
       END AS allocated_tokens
FROM joined;

COMMENT ON VIEW operator_set_allocations IS
'One row per operator, operator set (set_service, set_id) and strategy ever allocated: the magnitude in force at the indexed head (latest allocation_updated whose effect block has come), a pending change and its effect block, the operator''s max magnitude (latest max_magnitude_updated, 1e18 if never slashed), whether it is registered in the set now, its delegated shares, and allocated_stake = floor(shares * floor(magnitude * 1e18 / max_magnitude) / 1e18), the unique (slashable) stake in shares (allocated_tokens at the last exchange rate). An event-derived estimate: the node''s own figure is snap_magnitudes.allocated_stake. It differs when a deallocation is held by an open slash request or a slash hit an allocation with a pending increase.';

-- Slashes and what each costs, per staker.
CREATE VIEW slash_losses AS
WITH
slash AS (
    SELECT s.height, s.tx_index, s.event_index, s.operator, s.set_service, s.set_id, s.slash_id,
           s.description, u.strategy, u.wad_slashed
    FROM ev_slashing s
    CROSS JOIN LATERAL unnest(s.strategies, s.wad_slashed) AS u (strategy, wad_slashed)
    WHERE s.event = 'operator_slashed'
),
-- Per strategy a slash writes: max_magnitude_updated, [operator_shares_decreased with staker 0],
-- operator_shares_slashed, burn_or_redistributable_shares_increased (keyed by set, slash id and
-- strategy). A strategy with nothing allocated is skipped and has none of these.
part AS (
    SELECT sl.*,
           os.total_slashed_shares,
           coalesce(sd.shares, CASE WHEN bi.event_index IS NOT NULL THEN 0 END) AS delegated_slashed_shares,
           mm.max_magnitude AS max_magnitude_after,
           coalesce(prev.max_magnitude, 1000000000000000000) AS max_magnitude_before,
           req.height AS requested_height
    FROM slash sl
    LEFT JOIN ev_slashing bi
           ON bi.event = 'burn_or_redistributable_shares_increased' AND bi.height = sl.height
          AND bi.tx_index = sl.tx_index AND bi.set_service = sl.set_service AND bi.set_id = sl.set_id
          AND bi.slash_id = sl.slash_id AND bi.strategy = sl.strategy
    LEFT JOIN ev_slashing os
           ON os.event = 'operator_shares_slashed' AND os.height = sl.height AND os.tx_index = sl.tx_index
          AND os.event_index = bi.event_index - 1
    LEFT JOIN ev_delegation sd
           ON sd.event = 'operator_shares_decreased' AND sd.height = sl.height AND sd.tx_index = sl.tx_index
          AND sd.event_index = bi.event_index - 2 AND sd.operator = sl.operator AND sd.strategy = sl.strategy
          AND sd.staker = '\x0000000000000000000000000000000000000000'::bytea
    LEFT JOIN LATERAL (
        SELECT m.event_index, m.max_magnitude FROM ev_allocation m
        WHERE m.event = 'max_magnitude_updated' AND m.height = sl.height AND m.tx_index = sl.tx_index
          AND m.operator = sl.operator AND m.strategy = sl.strategy AND m.event_index < bi.event_index
        ORDER BY m.event_index DESC LIMIT 1
    ) mm ON true
    LEFT JOIN LATERAL (
        SELECT m.max_magnitude FROM ev_allocation m
        WHERE m.event = 'max_magnitude_updated' AND m.operator = sl.operator AND m.strategy = sl.strategy
          AND (m.height, m.tx_index, m.event_index) < (sl.height, sl.tx_index, mm.event_index)
        ORDER BY m.height DESC, m.tx_index DESC, m.event_index DESC LIMIT 1
    ) prev ON true
    -- a slash executed from a request: the queue is charged as of the request's block
    LEFT JOIN ev_slashing rx
           ON rx.event = 'slash_request_executed' AND rx.height = sl.height AND rx.tx_index = sl.tx_index
          AND rx.set_service = sl.set_service AND rx.set_id = sl.set_id AND rx.slash_id = sl.slash_id
    LEFT JOIN ev_slashing req
           ON req.event = 'slash_requested' AND req.set_service = rx.set_service AND req.set_id = rx.set_id
          AND req.request_id = rx.request_id
),
-- Stakers delegated to the operator when it was slashed, with their latest delegation.
delegated AS (
    SELECT p.height, p.tx_index, p.event_index, p.strategy, ld.staker,
           ld.height AS d_height, ld.tx_index AS d_tx, ld.event_index AS d_ev
    FROM part p
    CROSS JOIN LATERAL (
        SELECT DISTINCT ON (d.staker) d.staker, d.event, d.operator, d.height, d.tx_index, d.event_index
        FROM ev_delegation d
        WHERE d.event IN ('staker_delegated', 'staker_undelegated')
          AND d.staker IN (SELECT x.staker FROM ev_delegation x
                           WHERE x.event = 'staker_delegated' AND x.operator = p.operator
                             AND (x.height, x.tx_index, x.event_index) < (p.height, p.tx_index, p.event_index))
          AND (d.height, d.tx_index, d.event_index) < (p.height, p.tx_index, p.event_index)
        ORDER BY d.staker, d.height DESC, d.tx_index DESC, d.event_index DESC
    ) ld
    WHERE p.max_magnitude_after IS NOT NULL AND ld.event = 'staker_delegated' AND ld.operator = p.operator
),
-- Each staker's operator shares since that delegation, each change divided by the operator's max
-- magnitude at the time: shares that a slash scales all alike ("scaled" shares, 18 decimals).
delegated_scaled AS (
    SELECT dl.height, dl.tx_index, dl.event_index, dl.strategy, dl.staker,
           sum(CASE WHEN e.event = 'operator_shares_increased' THEN 1 ELSE -1 END
               * CASE WHEN coalesce(m.max_magnitude, 1000000000000000000) = 0 THEN 0
                      ELSE e.shares * 1.000000000000000000 * 1000000000000000000
                           / coalesce(m.max_magnitude, 1000000000000000000) END) AS scaled
    FROM delegated dl
    JOIN part p USING (height, tx_index, event_index, strategy)
    JOIN ev_delegation e
      ON e.event IN ('operator_shares_increased', 'operator_shares_decreased')
     AND e.staker = dl.staker AND e.operator = p.operator AND e.strategy = dl.strategy
     AND (e.height, e.tx_index, e.event_index) > (dl.d_height, dl.d_tx, dl.d_ev)
     AND (e.height, e.tx_index, e.event_index) < (dl.height, dl.tx_index, dl.event_index)
    LEFT JOIN LATERAL (
        SELECT x.max_magnitude FROM ev_allocation x
        WHERE x.event = 'max_magnitude_updated' AND x.operator = e.operator AND x.strategy = e.strategy
          AND (x.height, x.tx_index, x.event_index) < (e.height, e.tx_index, e.event_index)
        ORDER BY x.height DESC, x.tx_index DESC, x.event_index DESC LIMIT 1
    ) m ON true
    GROUP BY 1, 2, 3, 4, 5
),
-- Withdrawals queued from the operator, not completed, and still in the slashable window
-- (queued at or after the charged block minus the withdrawal delay then in force: the latest
-- governance change before the slash, else a snapshot's parameters if governance never changed
-- it, else the setting cairn.withdrawal_delay_blocks).
queued AS (
    SELECT p.height, p.tx_index, p.event_index, p.strategy, q.staker, q.nonce, u.scaled
    FROM part p
    CROSS JOIN LATERAL (
        SELECT coalesce(
            (SELECT (g.action -> 'set_param' ->> 'value')::numeric FROM ev_governance g
             WHERE g.event = 'proposal_executed' AND g.action -> 'set_param' ->> 'name' = 'withdrawal_delay_blocks'
               AND (g.height, g.tx_index, g.event_index) < (p.height, p.tx_index, p.event_index)
             ORDER BY g.height DESC, g.tx_index DESC, g.event_index DESC LIMIT 1),
            -- never changed by governance: the genesis value, which any snapshot shows
            (SELECT (sp.params ->> 'withdrawal_delay_blocks')::numeric FROM snap_params sp
             WHERE NOT EXISTS (
                 SELECT 1 FROM ev_governance g2
                 WHERE g2.event = 'proposal_executed' AND g2.action -> 'set_param' ->> 'name' = 'withdrawal_delay_blocks')
             ORDER BY sp.day LIMIT 1),
            nullif(current_setting('cairn.withdrawal_delay_blocks', true), '')::numeric
        ) AS blocks
    ) wd
    JOIN ev_withdrawal q
      ON q.event = 'withdrawal_queued' AND q.delegated_to = p.operator
     AND (q.height, q.tx_index, q.event_index) < (p.height, p.tx_index, p.event_index)
    CROSS JOIN LATERAL unnest(q.strategies, q.scaled_shares) AS u (strategy, scaled)
    WHERE p.max_magnitude_after IS NOT NULL AND u.strategy = p.strategy
      AND q.start_block >= coalesce(p.requested_height, p.height) - wd.blocks
      AND NOT EXISTS (
          SELECT 1 FROM ev_withdrawal c
          WHERE c.event = 'withdrawal_completed' AND c.staker = q.staker AND c.nonce = q.nonce
            AND (c.height, c.tx_index, c.event_index) < (p.height, p.tx_index, p.event_index))
),
losses AS (
    SELECT height, tx_index, event_index, strategy, 'delegated'::text AS part, staker, NULL::numeric AS nonce, scaled
    FROM delegated_scaled WHERE scaled > 0
    UNION ALL
    SELECT height, tx_index, event_index, strategy, 'queued', staker, nonce, scaled
    FROM queued WHERE scaled > 0
)
SELECT p.height, b.time, p.operator, p.set_service, p.set_id, p.slash_id, p.description, p.strategy,
       p.wad_slashed, p.max_magnitude_before, p.max_magnitude_after,
       p.total_slashed_shares, p.delegated_slashed_shares,
       p.total_slashed_shares - p.delegated_slashed_shares AS queued_slashed_shares,
       l.part, l.staker, l.nonce,
       trunc(l.scaled * p.max_magnitude_before / 1000000000000000000) AS shares_before_estimate,
       trunc(l.scaled * (p.max_magnitude_before - p.max_magnitude_after) / 1000000000000000000) AS loss_estimate
FROM part p
JOIN blocks b ON b.height = p.height
LEFT JOIN losses l
       ON l.height = p.height AND l.tx_index = p.tx_index AND l.event_index = p.event_index
      AND l.strategy = p.strategy;

COMMENT ON VIEW slash_losses IS
'One row per slash (operator_slashed: operator, set, slash_id), strategy and affected staker position: exact per slash and strategy are wad_slashed, the max magnitude before and after, total_slashed_shares (operator_shares_slashed: delegated plus queued), delegated_slashed_shares (the operator_shares_decreased with staker 0) and queued_slashed_shares (the difference). Per staker (part = delegated: stakers delegated to the operator then; part = queued: its withdrawals in the slashable window, only when the withdrawal delay then in force is known: a governance set_param before the slash, else a snapshot''s parameters when governance never changed it, else the setting cairn.withdrawal_delay_blocks) shares_before_estimate and loss_estimate are estimates from the staker''s share changes scaled by the max magnitude at each (exact up to a few wei of rounding per change). A strategy with nothing allocated has a row with NULL figures; a slash with no affected staker has part NULL.';

-- The withdrawal queue: what is waiting and when it can complete.
CREATE VIEW withdrawal_queue AS
WITH
head AS (
    SELECT coalesce((SELECT height FROM indexer_state), (SELECT max(height) FROM blocks)) AS height
),
withdrawal_delay AS (
    SELECT coalesce(
        (SELECT (g.action -> 'set_param' ->> 'value')::numeric FROM ev_governance g
         WHERE g.event = 'proposal_executed' AND g.action -> 'set_param' ->> 'name' = 'withdrawal_delay_blocks'
         ORDER BY g.height DESC, g.tx_index DESC, g.event_index DESC LIMIT 1),
        (SELECT (p.params ->> 'withdrawal_delay_blocks')::numeric FROM snap_params p ORDER BY p.day DESC LIMIT 1),
        nullif(current_setting('cairn.withdrawal_delay_blocks', true), '')::numeric
    ) AS blocks
)
SELECT q.staker, q.nonce, q.delegated_to, q.start_block, b.time AS queued_at,
       u.strategy, u.scaled_shares, u.withdrawable_shares,
       wd.blocks AS delay_blocks,
       q.start_block + wd.blocks + 1 AS maturity_block,
       greatest(q.start_block + wd.blocks + 1 - h.height, 0) AS blocks_left
FROM ev_withdrawal q
JOIN blocks b ON b.height = q.height
CROSS JOIN head h
CROSS JOIN withdrawal_delay wd
CROSS JOIN LATERAL unnest(q.strategies, q.scaled_shares, q.withdrawable_shares)
    AS u (strategy, scaled_shares, withdrawable_shares)
WHERE q.event = 'withdrawal_queued'
  AND NOT EXISTS (
      SELECT 1 FROM ev_withdrawal c
      WHERE c.event = 'withdrawal_completed' AND c.staker = q.staker AND c.nonce = q.nonce);

COMMENT ON VIEW withdrawal_queue IS
'One row per queued, not yet completed withdrawal (withdrawal_queued without a withdrawal_completed of the same staker and nonce) and strategy in it: start block, scaled shares, the shares withdrawable when queued (slashes until completion lower the payout), and maturity_block = start_block + withdrawal delay + 1, the first block it can complete (an open slash request can hold it longer). The delay is the latest executed governance set_param withdrawal_delay_blocks, else the latest snapshot''s parameters (snap_params), else the setting cairn.withdrawal_delay_blocks; NULL when none is known.';

-- Rewards paid in, per submission.
CREATE VIEW rewards_by_submission AS
SELECT r.height, b.time, r.service, r.nonce, r.hash, r.kind, (t.body ->> 'set_id')::bigint AS set_id,
       r.token, r.amount, r.fee, r.amount + r.fee AS gross,
       r.start, r.duration,
       to_timestamp(r.start::double precision) AS starts_at,
       to_timestamp((r.start + r.duration)::double precision) AS ends_at,
       CASE WHEN r.duration > 0 THEN div(r.amount * 86400, r.duration) END AS amount_per_day
FROM ev_rewards r
JOIN blocks b ON b.height = r.height
JOIN transactions t ON t.height = r.height AND t.tx_index = r.tx_index
WHERE r.event = 'rewards_submission_created';

COMMENT ON VIEW rewards_by_submission IS
'One row per rewards submission (rewards_submission_created): the paying service, its nonce and hash, kind, set_id (set-scoped kinds, from the transaction body), token, amount escrowed for earners (after the protocol fee), fee, gross = amount + fee, the period (start, duration in seconds, as timestamps too) and amount_per_day = amount * 86400 / duration (rounded down).';

-- Rewards paid out, per earner and token.
CREATE VIEW rewards_by_earner AS
SELECT r.earner, r.token, sum(r.amount) AS claimed, count(*) AS claims,
       count(DISTINCT r.recipient) AS recipients,
       min(b.time) AS first_claim_at, max(b.time) AS last_claim_at, max(r.height) AS last_claim_height
FROM ev_rewards r
JOIN blocks b ON b.height = r.height
WHERE r.event = 'rewards_claimed'
GROUP BY r.earner, r.token;

COMMENT ON VIEW rewards_by_earner IS
'One row per earner and token with a claim: the tokens claimed in total (each rewards_claimed amount is what that claim paid, cumulative earnings minus what was claimed before), the number of claims and of distinct recipients, and the first and last claim.';

-- The vault's APR over the last 7 and 30 days, from its settled rates.
CREATE VIEW apr_vault AS
WITH
now AS (
    SELECT b.unix_time AS t FROM blocks b
    WHERE b.height = coalesce((SELECT height FROM indexer_state), (SELECT max(height) FROM blocks))
),
windows (days) AS (VALUES (7), (30)),
vaults AS (
    SELECT DISTINCT vault FROM ev_vault_admin WHERE event = 'vault_created'
),
settled AS (
    SELECT r.vault, r.number, r.rate, b.unix_time, r.height, r.tx_index, r.event_index
    FROM ev_vault_rate r JOIN blocks b ON b.height = r.height
    WHERE r.event = 'vault_rate_settled'
),
span AS (
    SELECT v.vault, w.days, w.days::bigint * 86400 AS window_seconds,
           f.unix_time AS from_unix, f.rate AS from_rate, l.unix_time AS to_unix, l.rate AS to_rate,
           (SELECT count(*) FROM settled s WHERE s.vault = v.vault AND s.unix_time >= n.t - w.days * 86400) AS settlements
    FROM vaults v CROSS JOIN windows w CROSS JOIN now n
    LEFT JOIN LATERAL (
        SELECT s.unix_time, s.rate FROM settled s
        WHERE s.vault = v.vault AND s.unix_time >= n.t - w.days * 86400
        ORDER BY s.height, s.tx_index, s.event_index LIMIT 1
    ) f ON true
    LEFT JOIN LATERAL (
        SELECT s.unix_time, s.rate FROM settled s
        WHERE s.vault = v.vault AND s.unix_time >= n.t - w.days * 86400
        ORDER BY s.height DESC, s.tx_index DESC, s.event_index DESC LIMIT 1
    ) l ON true
)
SELECT vault, days AS window_days, 'total'::text AS source, window_seconds, settlements,
       to_timestamp(from_unix::double precision) AS from_time, from_rate,
       to_timestamp(to_unix::double precision) AS to_time, to_rate,
       to_unix - from_unix AS seconds,
       CASE WHEN to_unix > from_unix AND from_rate > 0
            THEN div((to_rate - from_rate) * 10000 * 31536000, from_rate * (to_unix - from_unix)) END AS apr_bps,
       CASE WHEN to_unix > from_unix AND from_rate > 0
            THEN round((to_rate - from_rate) * 1.000000000000000000 * 31536000 / (from_rate * (to_unix - from_unix)), 8) END AS apr
FROM span;

COMMENT ON VIEW apr_vault IS
'One row per vault and window (7 and 30 days before the indexed head''s time): the first and last vault_rate_settled in the window and the simple (not compounded) annualized change between them, apr = (to_rate - from_rate) / from_rate * 31536000 / seconds (8 decimals) and apr_bps (rounded toward zero), the node''s vault_apr figure. source is always total: the settled-rate events carry no attribution; the split by source (base staking, services, fees, ...) is the node''s GET /v1/vaults/{id}/rates. NULL without two settlements at different times in the window.';

-- Operators' APR over the last 7 and 30 days, by source.
CREATE VIEW apr_operator AS
WITH
-- Each window ends at the indexed head's time and starts 7 or 30 days earlier, or at block 1's
-- time if the chain is younger.
windows AS (
    SELECT w.days, h.t AS to_unix, greatest(h.t - w.days * 86400, f.t) AS from_unix
    FROM (VALUES (7), (30)) AS w (days)
    CROSS JOIN (SELECT b.unix_time AS t FROM blocks b
                WHERE b.height = coalesce((SELECT height FROM indexer_state), (SELECT max(height) FROM blocks))) h
    CROSS JOIN (SELECT min(unix_time) AS t FROM blocks WHERE height > 0) f  -- genesis has time 0
),
stake AS (
    SELECT operator, sum(tokens) AS stake_tokens FROM operator_stake GROUP BY operator
),
membership AS (
    SELECT * FROM (
        SELECT DISTINCT ON (operator, set_service, set_id) operator, set_service, set_id, event
        FROM ev_operator_set
        WHERE event IN ('operator_added_to_operator_set', 'operator_removed_from_operator_set')
        ORDER BY operator, set_service, set_id, height DESC, tx_index DESC, event_index DESC
    ) m WHERE event = 'operator_added_to_operator_set'
),
-- Each submission with its entry in the transaction body (the n-th event of a transaction is
-- its n-th submission).
submission AS (
    SELECT r.height, r.tx_index, r.event_index, r.service, r.kind, r.token, r.amount, r.start, r.duration,
           (t.body ->> 'set_id')::bigint AS set_id,
           t.body -> 'submissions'
                  -> ((row_number() OVER (PARTITION BY r.height, r.tx_index ORDER BY r.event_index)) - 1)::int AS body
    FROM ev_rewards r
    JOIN transactions t ON t.height = r.height AND t.tx_index = r.tx_index
    WHERE r.event = 'rewards_submission_created'
),
multiplier AS (
    SELECT s.height, s.tx_index, s.event_index, (m ->> 'strategy')::bigint AS strategy,
           (m ->> 'multiplier')::numeric AS multiplier
    FROM submission s CROSS JOIN LATERAL jsonb_array_elements(s.body -> 'strategies_and_multipliers') m
),
-- Each operator's weight in a submission: stake-weighted kinds by shares times multiplier of the
-- operators registered now with the service (service_wide) or the set (total_stake; unique_stake
-- by allocated stake); operator-directed kinds by the amount the service named for it.
weight AS (
    SELECT s.height, s.tx_index, s.event_index, os.operator, sum(os.shares * m.multiplier) AS weight
    FROM submission s
    JOIN multiplier m USING (height, tx_index, event_index)
    JOIN operator_stake os ON os.strategy = m.strategy
    WHERE s.kind IN ('service_wide', 'total_stake')
      AND EXISTS (SELECT 1 FROM membership mb
                  WHERE mb.operator = os.operator AND mb.set_service = s.service
                    AND (s.kind = 'service_wide' OR mb.set_id = s.set_id))
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT s.height, s.tx_index, s.event_index, a.operator, sum(a.allocated_stake * m.multiplier)
    FROM submission s
    JOIN multiplier m USING (height, tx_index, event_index)
    JOIN operator_set_allocations a
      ON a.set_service = s.service AND a.set_id = s.set_id AND a.strategy = m.strategy AND a.registered
    WHERE s.kind = 'unique_stake'
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT s.height, s.tx_index, s.event_index, decode(substr(o ->> 'operator', 3), 'hex'), (o ->> 'amount')::numeric
    FROM submission s CROSS JOIN LATERAL jsonb_array_elements(s.body -> 'operator_rewards') o
    WHERE s.kind IN ('operator_directed', 'operator_directed_set')
),
-- The part of each submission paid inside each window (pro rata of its seconds), split by weight.
paid AS (
    SELECT w.operator, win.days, s.service, s.token,
           div(s.amount * (least(s.start + s.duration, win.to_unix) - greatest(s.start, win.from_unix)) * w.weight,
               s.duration * w.total) AS amount
    FROM submission s
    JOIN (SELECT *, sum(weight) OVER (PARTITION BY height, tx_index, event_index) AS total FROM weight) w
      USING (height, tx_index, event_index)
    CROSS JOIN windows win
    WHERE w.total > 0 AND s.duration > 0
      AND least(s.start + s.duration, win.to_unix) > greatest(s.start, win.from_unix)
),
service_rows AS (
    SELECT operator, days, 'service'::text AS source, service, token, sum(amount) AS earned
    FROM paid GROUP BY operator, days, service, token
),
-- Base staking: the exchange-rate growth of the strategies the operator holds, from the rate in
-- force when the window opened (or the first rate after) to the last one, on today's shares.
rate_then AS (
    SELECT st.strategy, win.days,
           coalesce(
               (SELECT e.rate FROM ev_strategy e JOIN blocks b ON b.height = e.height
                WHERE e.event = 'exchange_rate_emitted' AND e.strategy = st.strategy
                  AND b.unix_time <= win.from_unix
                ORDER BY e.height DESC, e.tx_index DESC, e.event_index DESC LIMIT 1),
               (SELECT e.rate FROM ev_strategy e
                WHERE e.event = 'exchange_rate_emitted' AND e.strategy = st.strategy
                ORDER BY e.height, e.tx_index, e.event_index LIMIT 1),
               1000000000000000000) AS rate
    FROM (SELECT DISTINCT strategy FROM operator_stake WHERE strategy IS NOT NULL) st CROSS JOIN windows win
),
rate_at AS (
    SELECT os.operator, os.strategy, os.shares, rt.days, rt.rate AS rate_then, os.exchange_rate AS rate_now
    FROM operator_stake os JOIN rate_then rt ON rt.strategy = os.strategy
),
base_rows AS (
    SELECT operator, days, 'base_staking'::text AS source, NULL::bytea AS service, NULL::bigint AS token,
           sum(div(shares * (rate_now - rate_then), 1000000000000000000)) AS earned
    FROM rate_at GROUP BY operator, days
),
all_rows AS (
    SELECT * FROM service_rows UNION ALL SELECT * FROM base_rows
)
SELECT r.operator, r.days AS window_days, win.to_unix - win.from_unix AS window_seconds,
       r.source, r.service, r.token, r.earned, st.stake_tokens,
       CASE WHEN st.stake_tokens > 0 AND win.to_unix > win.from_unix
            THEN round(r.earned * 1.000000000000000000 * 31536000 / ((win.to_unix - win.from_unix) * st.stake_tokens), 8)
       END AS apr,
       CASE WHEN st.stake_tokens > 0 AND win.to_unix > win.from_unix
            THEN div(r.earned * 10000 * 31536000, (win.to_unix - win.from_unix) * st.stake_tokens)
       END AS apr_bps
FROM all_rows r
JOIN windows win ON win.days = r.days
JOIN stake st ON st.operator = r.operator;

COMMENT ON VIEW apr_operator IS
'An estimate. One row per operator, window (the 7 or 30 days up to the indexed head''s time, window_seconds long, shorter on a younger chain) and source: service (one row per paying service and reward token) = the part of each rewards submission falling in the window (amount * overlapping seconds / duration) attributed to the operator by its weight among the submission''s operators now (stake-weighted kinds: shares * multiplier of the operators registered now; unique_stake: allocated stake; operator-directed kinds: the amount named for it), before the operator''s commission split; base_staking = exchange-rate growth of the strategies it holds over the window on its current shares. apr = earned * 31536000 / (window_seconds * stake_tokens), simple, 8 decimals (apr_bps rounded down), with stake_tokens = its delegated shares at the last exchange rates, every token counted 1:1 (no prices). Not counted: beacon-chain ETH rewards, stake changes inside the window, what the rewards calculator actually paid (see rewards_by_earner).';

-- Check: operator shares recomputed from events against every snapshot.
CREATE VIEW check_operator_shares AS
WITH
snap AS (
    SELECT day, height, coalesce(lag(height) OVER (ORDER BY height), -1) AS after_height
    FROM snapshots
),
-- the share changes of each snapshot's interval (after the previous snapshot, up to this one)
interval_sums AS (
    SELECT s.day, d.operator, d.strategy,
           sum(CASE WHEN d.event = 'operator_shares_increased' THEN d.shares ELSE -d.shares END) AS shares
    FROM snap s
    JOIN ev_delegation d ON d.height > s.after_height AND d.height <= s.height
    WHERE d.event IN ('operator_shares_increased', 'operator_shares_decreased')
    GROUP BY s.day, d.operator, d.strategy
),
recomputed AS (
    SELECT s.day, p.operator, p.strategy,
           sum(coalesce(i.shares, 0)) OVER (PARTITION BY p.operator, p.strategy ORDER BY s.height) AS shares
    FROM snap s
    CROSS JOIN (SELECT DISTINCT operator, strategy FROM interval_sums) p
    LEFT JOIN interval_sums i ON i.day = s.day AND i.operator = p.operator AND i.strategy = p.strategy
),
both_sides AS (
    SELECT coalesce(r.day, o.day) AS day, coalesce(r.operator, o.operator) AS operator,
           coalesce(r.strategy, o.strategy) AS strategy,
           coalesce(r.shares, 0) AS event_shares, coalesce(o.shares, 0) AS snapshot_shares
    FROM recomputed r
    FULL JOIN snap_operator_shares o ON o.day = r.day AND o.operator = r.operator AND o.strategy = r.strategy
)
SELECT b.day, s.height, b.operator, b.strategy, b.event_shares, b.snapshot_shares,
       b.event_shares = b.snapshot_shares AS equal
FROM both_sides b JOIN snapshots s ON s.day = b.day;

COMMENT ON VIEW check_operator_shares IS
'A consistency check, one row per snapshot day, operator and strategy (on either side): event_shares = operator_shares_increased - operator_shares_decreased up to the snapshot''s height, snapshot_shares = snap_operator_shares.shares (0 when a side has no row), and equal. Expected: SELECT * FROM check_operator_shares WHERE NOT equal returns no rows.';

-- Check: deposit shares per staker and strategy recomputed from events against every snapshot.
CREATE VIEW check_positions AS
WITH
dsf AS (
    SELECT height, tx_index, event_index, staker, strategy, new_dsf
    FROM ev_strategy WHERE event = 'deposit_scaling_factor_updated'
),
-- Each queued strategy: the events of this withdrawal lie after the previous withdrawal_queued of
-- the same transaction (undelegation queues one per strategy in one transaction).
queued AS (
    SELECT q.height, q.tx_index, q.event_index, q.staker, u.strategy, u.scaled,
           coalesce((SELECT max(p.event_index) FROM ev_withdrawal p
                     WHERE p.event = 'withdrawal_queued' AND p.height = q.height AND p.tx_index = q.tx_index
                       AND p.event_index < q.event_index), -1) AS lower_index
    FROM ev_withdrawal q
    CROSS JOIN LATERAL unnest(q.strategies, q.scaled_shares) AS u (strategy, scaled)
    WHERE q.event = 'withdrawal_queued'
),
delta (staker, strategy, height, tx_index, event_index, kind, shares) AS (
    SELECT staker, strategy, height, tx_index, event_index, 'add', shares
    FROM ev_strategy WHERE event = 'deposit'
    UNION ALL
    -- beacon shares credited to a pod owner (the strategy: the DSF the credit just set)
    SELECT p.owner, d.strategy, p.height, p.tx_index, p.event_index, 'add', p.shares
    FROM ev_beacon p
    CROSS JOIN LATERAL (
        SELECT d.strategy FROM dsf d
        WHERE d.height = p.height AND d.tx_index = p.tx_index AND d.staker = p.owner
          AND d.event_index BETWEEN p.event_index - 2 AND p.event_index - 1
        ORDER BY d.event_index DESC LIMIT 1
    ) d
    WHERE p.event = 'pod_shares_updated'
    UNION ALL
    -- withdrawals completed as shares are credited back
    SELECT c.staker, u.strategy, c.height, c.tx_index, c.event_index, 'add', u.shares
    FROM ev_withdrawal c
    JOIN ev_withdrawal q ON q.event = 'withdrawal_queued' AND q.staker = c.staker AND q.nonce = c.nonce
    CROSS JOIN LATERAL unnest(q.strategies, c.shares) AS u (strategy, shares)
    WHERE c.event = 'withdrawal_completed' AND NOT c.receive_as_tokens AND u.shares > 0
    UNION ALL
    -- a queue removes deposit shares x but records only q = floor(x * k / 1e18), k the deposit
    -- scaling factor: emptying the position (k resets to 1e18 in this withdrawal) leaves exactly 0;
    -- otherwise x is the one integer with floor(x * k / 1e18) = q, the least being
    -- ceil(q * 1e18 / k), unique whenever k >= 1e18 (always, up to rounding)
    SELECT q.staker, q.strategy, q.height, q.tx_index, q.event_index,
           CASE WHEN q.emptied THEN 'reset'
                WHEN div((q.x + 1) * q.k, 1000000000000000000) > q.scaled THEN 'add'
                ELSE 'unknown' END,
           -q.x
    FROM (
        SELECT q.*, k.k, div(q.scaled * 1000000000000000000 + k.k - 1, k.k) AS x,
               EXISTS (SELECT 1 FROM dsf d
                       WHERE d.height = q.height AND d.tx_index = q.tx_index AND d.staker = q.staker
                         AND d.strategy = q.strategy AND d.new_dsf = 1000000000000000000
                         AND d.event_index > q.lower_index AND d.event_index < q.event_index) AS emptied
        FROM queued q
        CROSS JOIN LATERAL (
            SELECT coalesce(
                (SELECT d.new_dsf FROM dsf d
                 WHERE d.staker = q.staker AND d.strategy = q.strategy
                   AND (d.height, d.tx_index, d.event_index) < (q.height, q.tx_index, q.lower_index)
                 ORDER BY d.height DESC, d.tx_index DESC, d.event_index DESC LIMIT 1),
                1000000000000000000) AS k
        ) k
    ) q
)
-- Per snapshot (a filter on day computes only that one): what follows the last reset counts.
SELECT s.day, s.height, c.staker, c.strategy, c.event_shares, c.snapshot_shares, c.exact,
       c.event_shares = c.snapshot_shares AS equal
FROM snapshots s
CROSS JOIN LATERAL (
    SELECT coalesce(r.staker, p.staker) AS staker, coalesce(r.strategy, p.strategy) AS strategy,
           coalesce(r.shares, 0) AS event_shares, coalesce(p.deposit_shares, 0) AS snapshot_shares,
           coalesce(r.exact, true) AS exact
    FROM (
        SELECT x.staker, x.strategy,
               coalesce(sum(x.shares) FILTER (WHERE x.kind = 'add' AND x.segment = x.segments), 0) AS shares,
               count(*) FILTER (WHERE x.kind = 'unknown' AND x.segment = x.segments) = 0 AS exact
        FROM (
            SELECT d.*,
                   count(*) FILTER (WHERE d.kind = 'reset') OVER (
                       PARTITION BY d.staker, d.strategy ORDER BY d.height, d.tx_index, d.event_index
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS segment,
                   count(*) FILTER (WHERE d.kind = 'reset') OVER (PARTITION BY d.staker, d.strategy) AS segments
            FROM delta d
            WHERE d.height <= s.height
        ) x
        GROUP BY x.staker, x.strategy
    ) r
    FULL JOIN (SELECT * FROM snap_positions sp WHERE sp.day = s.day) p
           ON p.staker = r.staker AND p.strategy = r.strategy
) c;

COMMENT ON VIEW check_positions IS
'A consistency check, one row per snapshot day, staker and strategy (on either side): event_shares = deposit shares recomputed up to the snapshot''s height (deposits, pod credits and withdrawals completed as shares add; a withdrawal that empties the position resets it to 0; a partial one subtracts the deposit shares x its scaled shares q = floor(x * dsf / 1e18) come from, x = ceil(q * 1e18 / dsf), the only solution when dsf >= 1e18), snapshot_shares = snap_positions.deposit_shares, exact = no partial withdrawal with more than one solution since the last reset, and equal. Expected: SELECT * FROM check_positions WHERE exact AND NOT equal returns no rows.';
