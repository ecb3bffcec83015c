//! The vault keeper, off consensus: an optimizer that turns the state machine's keeper inputs into
//! integer target weights that pass the vault's policy (`optimizer`), and the bots that post
//! prices, rate updates, rebalances, finalizations and reward claims (`bot`). It may use floats;
//! whatever it submits is integer and is re-checked by the state machine.
#![forbid(unsafe_code)]

pub mod bot;
pub mod optimizer;
