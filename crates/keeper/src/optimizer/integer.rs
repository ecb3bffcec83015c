//! Integer side of the optimizer: rounding the LP's weights to basis points, repairing them until
//! the policy holds, and the policy check itself — the state machine's `check_targets` and
//! `exposure_bps`, in U256 with the same roundings.

use std::cmp::Ordering;

use cairn_primitives::{MathError, U256, WAD, math};

use super::{BPS, Checked, Model, PolicyViolation};

/// The vault's exposure to a service, `Σ bps · f` (bps × WAD), per service index; and whether any
/// operator with a positive weight names the service (the state lists only those).
fn exposure_sums(model: &Model, bps: &[u16]) -> Result<(Vec<U256>, Vec<bool>), MathError> {
    let mut sums = vec![U256::ZERO; model.svcs.len()];
    let mut present = vec![false; model.svcs.len()];
    for (o, b) in model.ops.iter().zip(bps).filter(|(_, b)| **b > 0) {
        for (s, wad, _) in &o.fractions {
            sums[*s] = math::add(sums[*s], math::mul(U256::from(*b), *wad)?)?;
            present[*s] = true;
        }
    }
    Ok((sums, present))
}

/// `Σ bps · f` in bps, rounded up and clamped at 10 000, as the state's `exposure_bps`.
fn exposure_bps(sum: U256) -> Result<u16, MathError> {
    let bps = math::mul_div_up(sum, U256::from(1u8), WAD)?;
    Ok(u16::try_from(bps.min(U256::from(BPS))).unwrap_or(u16::MAX))
}

/// The state machine's policy check, in integers. `bps` is per operator of the model.
pub(super) fn check(
    model: &Model,
    buffer_bps: u16,
    bps: &[u16],
) -> Result<Result<Checked, PolicyViolation>, MathError> {
    let sum = bps.iter().fold(u64::from(buffer_bps), |s, b| s.saturating_add(u64::from(*b)));
    if sum != u64::from(BPS) {
        return Ok(Err(PolicyViolation::DoesNotSum { sum }));
    }
    if buffer_bps < model.min_buffer_bps {
        return Ok(Err(PolicyViolation::BufferBelowMinimum { buffer_bps, min_bps: model.min_buffer_bps }));
    }
    for (o, b) in model.ops.iter().zip(bps) {
        if *b > o.cap_bps {
            return Ok(Err(PolicyViolation::OperatorCapExceeded { operator: o.operator, bps: *b, cap_bps: o.cap_bps }));
        }
        if *b > 0 && !o.registered {
            return Ok(Err(PolicyViolation::NotAnOperator { operator: o.operator }));
        }
    }
    let (sums, present) = exposure_sums(model, bps)?;
    let mut exposures = Vec::new();
    for (s, sum) in sums.iter().enumerate().filter(|(s, _)| present[*s]) {
        let svc = &model.svcs[s];
        let e = exposure_bps(*sum)?;
        if e > svc.cap_bps {
            return Ok(Err(PolicyViolation::ServiceCapExceeded {
                service: svc.service,
                exposure_bps: e,
                cap_bps: svc.cap_bps,
            }));
        }
        exposures.push((svc.service, e));
    }
    // The largest exposure; ties keep the lowest address (services are ascending).
    let worst = exposures.iter().fold(None, |best: Option<(_, u16)>, (s, b)| match best {
        Some((_, bb)) if bb >= *b => best,
        _ => Some((*s, *b)),
    });
    if let Some((service, loss_bps)) = worst
        && loss_bps > model.risk_budget_bps
    {
        return Ok(Err(PolicyViolation::RiskBudgetExceeded { service, loss_bps, budget_bps: model.risk_budget_bps }));
    }
    Ok(Ok(Checked { worst_loss_bps: worst.map_or(0, |w| w.1), worst_service: worst.map(|w| w.0), exposures }))
}

/// The LP's weights in bps by largest remainder: every usable operator gets the floor of its
/// weight (clamped to its cap), then the units left over go to the largest remainders (ties: the
/// lower address; the buffer's own remainder competes and loses ties). Unusable operators get 0.
/// The buffer is what is left: `10 000 − Σ`.
pub(super) fn round(model: &Model, x: &[f64]) -> Vec<u16> {
    let mut bps = vec![0u16; model.ops.len()];
    // (remainder, operator index; `None` is the buffer)
    let mut rem: Vec<(f64, Option<usize>)> = Vec::with_capacity(model.ops.len().saturating_add(1));
    let mut exact = 0.0;
    for (i, o) in model.ops.iter().enumerate() {
        if !model.usable(i) {
            continue;
        }
        let t = (x[i] * f64::from(BPS)).clamp(0.0, f64::from(o.cap_bps));
        let fl = t.floor();
        bps[i] = fl as u16;
        exact += t;
        rem.push((t - fl, Some(i)));
    }
    let buffer = (f64::from(BPS) - exact).max(0.0);
    rem.push((buffer - buffer.floor(), None));
    let floors: u32 = bps.iter().map(|b| u32::from(*b)).sum::<u32>().saturating_add(buffer.floor() as u32);
    let extra = u32::from(BPS).saturating_sub(floors) as usize;
    rem.sort_by(|a, b| {
        b.0.total_cmp(&a.0).then_with(|| match (a.1, b.1) {
            (Some(i), Some(j)) => i.cmp(&j),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
    });
    for (_, who) in rem.into_iter().take(extra) {
        if let Some(i) = who
            && bps[i] < model.ops[i].cap_bps
        {
            bps[i] = bps[i].saturating_add(1);
        }
    }
    bps
}

/// Repairs rounded weights in integers until the policy holds. Bps only ever
/// move from operators to the buffer:
///
/// 1. while the buffer is below what the keeper wants, the operator with the lowest net yield
///    (ties: the lower address) gives what is missing (or all it has);
/// 2. while some service (the first by address) has `Σ bps · f > limit · 1e18` — its exposure
///    rounded up is above `min(cap, risk budget)` — the operator contributing most to it (largest
///    `bps · f`, ties: the lower address) gives `ceil(excess / f)` bps (or all it has).
///
/// Each step removes at least one bps from an operator, so it ends; the all-buffer targets pass
/// every check but the minimum buffer, which step 1 has met. Returns the buffer and the bps moved
/// into it since rounding.
pub(super) fn repair(model: &Model, bps: &mut [u16]) -> Result<(u16, u16), MathError> {
    for (i, o) in model.ops.iter().enumerate() {
        if !o.registered {
            bps[i] = 0;
        }
        bps[i] = bps[i].min(o.cap_bps);
    }
    let total = |bps: &[u16]| bps.iter().map(|b| u32::from(*b)).sum::<u32>();
    let rounded_buffer = BPS.saturating_sub(u16::try_from(total(bps)).unwrap_or(BPS));
    let room = u32::from(BPS.saturating_sub(model.desired_buffer_bps));
    if total(bps) > room {
        let mut order: Vec<usize> = (0..bps.len()).collect();
        order.sort_by(|a, b| model.ops[*a].net_bps.total_cmp(&model.ops[*b].net_bps).then(a.cmp(b)));
        let mut need = total(bps).saturating_sub(room);
        for i in order {
            let take = need.min(u32::from(bps[i]));
            bps[i] = bps[i].saturating_sub(take as u16);
            need = need.saturating_sub(take);
        }
    }
    loop {
        let (sums, _) = exposure_sums(model, bps)?;
        let violated = sums.iter().enumerate().find_map(|(s, sum)| {
            let limit = model.limit_bps(s);
            let allowed = U256::from(limit).saturating_mul(WAD);
            (limit < BPS && *sum > allowed).then(|| (s, sum.saturating_sub(allowed)))
        });
        let Some((s, excess)) = violated else { break };
        // The operator contributing most to s.
        let mut best: Option<(usize, U256, U256)> = None;
        for (i, o) in model.ops.iter().enumerate().filter(|(i, _)| bps[*i] > 0) {
            if let Some((_, wad, _)) = o.fractions.iter().find(|f| f.0 == s) {
                let c = math::mul(U256::from(bps[i]), *wad)?;
                if best.is_none_or(|(_, bc, _)| c > bc) {
                    best = Some((i, c, *wad));
                }
            }
        }
        let Some((i, _, wad)) = best else { break };
        // The excess is positive, so some contributor has a positive fraction.
        let k = math::mul_div_up(excess, U256::from(1u8), wad)?;
        let take = u16::try_from(k.min(U256::from(bps[i]))).unwrap_or(bps[i]).max(1);
        bps[i] = bps[i].saturating_sub(take);
    }
    let buffer = BPS.saturating_sub(u16::try_from(total(bps)).unwrap_or(BPS));
    Ok((buffer, buffer.saturating_sub(rounded_buffer)))
}
