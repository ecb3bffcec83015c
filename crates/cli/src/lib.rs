//! The cairn command-line tool: the scenario runner and its helpers.
//!
//! The library half lets tests run scenarios the way `cairn scenario run` does:
//! [`scenario::run_file`] and [`scenario::run_str`] return a [`scenario::Report`].
#![forbid(unsafe_code)]

pub mod dev;
pub mod devnet;
pub mod index;
pub mod keeper;
pub mod keys;
pub mod net;
pub mod out;
pub mod rewards;
pub mod risk;
pub mod scenario;
pub mod testnet;
pub mod vault;
