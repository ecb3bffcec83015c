//! The store rows of `cairn_state::persist`: a store fed only each step's `take_changes` (the
//! node persists nothing else) rebuilds, at every step of a random sequence, a state with the
//! same canonical bytes as the live one.

use std::collections::BTreeMap;

use cairn_state::{State, persist::Changes};
use cairn_tests::{
    ops::{STEP_BYTES, XorShift, decode},
    world::World,
};

type Store = BTreeMap<(u8, Vec<u8>), Vec<u8>>;

fn write(store: &mut Store, changes: Changes) {
    for (table, key, value) in changes.iter() {
        match value {
            Some(v) => store.insert((table, key.to_vec()), v.to_vec()),
            None => store.remove(&(table, key.to_vec())),
        };
    }
}

fn rebuild(store: &Store) -> State {
    State::from_rows(store.iter().map(|((t, k), v)| (*t, k.as_slice(), v.as_slice())))
        .unwrap_or_else(|e| panic!("stored rows do not load: {e}"))
}

#[test]
fn changes_rebuild_the_state_at_every_step() {
    for seed in 0..150u64 {
        let mut world = World::new();
        let mut store = Store::new();
        write(&mut store, world.state.rows().expect("genesis rows"));
        world.state.set_tracking(true);
        let mut rng = XorShift::new(0x9E37_79B9 ^ seed.wrapping_mul(0x1000_0001));
        let data = rng.bytes(40 * STEP_BYTES);
        for (i, step) in decode(&data).iter().enumerate() {
            world.step(step);
            write(&mut store, world.state.take_changes().expect("changes"));
            let rebuilt = rebuild(&store);
            assert!(
                rebuilt.canonical_bytes() == world.state.canonical_bytes(),
                "seed {seed}, step {i} ({step:?}): the stored rows differ from the state"
            );
        }
        // A full dump equals the incrementally written store.
        let mut dumped = Store::new();
        write(&mut dumped, world.state.rows().expect("rows"));
        assert_eq!(dumped, store, "seed {seed}: dump and incremental store differ");
    }
}

#[test]
fn unknown_tables_and_bad_bytes_are_refused() {
    let world = World::new();
    let mut store = Store::new();
    write(&mut store, world.state.rows().expect("rows"));
    let mut bad = store.clone();
    bad.insert((200, vec![1]), vec![2]);
    let err = State::from_rows(bad.iter().map(|((t, k), v)| (*t, k.as_slice(), v.as_slice()))).unwrap_err();
    assert_eq!(err.to_string(), "unknown table id 200");
    let mut bad = store.clone();
    bad.insert((1, vec![0xff; 3]), vec![0xff]);
    assert!(State::from_rows(bad.iter().map(|((t, k), v)| (*t, k.as_slice(), v.as_slice()))).is_err());
    store.remove(&(0, vec![]));
    let err = State::from_rows(store.iter().map(|((t, k), v)| (*t, k.as_slice(), v.as_slice()))).unwrap_err();
    assert_eq!(err.to_string(), "the globals row is missing");
}

#[test]
fn amounts_inside_stored_rows_round_trip() {
    // Proposals carry an optional amount (a deposit cap): binary rows must read it back.
    use cairn_primitives::{StrategyId, U256};
    use cairn_state::{Ctx, Tx, tx::GovernanceAction};
    let mut world = World::new();
    world.state.set_tracking(true);
    let governor = world.actors[cairn_tests::world::GOVERNOR];
    for cap in [Some(U256::from(10).pow(U256::from(24))), None] {
        let tx = Tx::Propose { action: GovernanceAction::SetDepositCap { strategy: StrategyId(1), cap } };
        world.state.apply(&Ctx { sender: governor, block: 1, time: 12 }, &tx).expect("proposal accepted");
    }
    let mut store = Store::new();
    write(&mut store, world.state.rows().expect("rows"));
    assert!(rebuild(&store).canonical_bytes() == world.state.canonical_bytes(), "proposals survive the store");
}
