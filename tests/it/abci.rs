//! The ABCI adapter in process, with CometBFT's own request types: CheckTx's codes for every
//! kind of bad input, ProcessProposal's rejections, block time from the consensus header, and a
//! crash between FinalizeBlock and Commit re-executing to the byte-identical app hash.

use std::sync::Arc;

use alloy_primitives::{U256, keccak256};
use bytes::Bytes;
use cairn_node::{
    Config, Node,
    abci::{Abci, code, drive, tx_bytes},
    devnet::{self, DevKeys},
    envelope::address_of,
    node::Mining,
};
use cairn_primitives::ids::AssetId;
use cairn_state::Tx;
use tendermint::{
    Time,
    abci::{Code, request::CheckTxKind, response},
    v0_38::abci::request,
};

use crate::node::temp_dir;

fn open(dir: &std::path::Path) -> (Arc<Node>, DevKeys) {
    let keys = DevKeys::new(4);
    let mut config = Config::new(dir.to_path_buf(), devnet::CHAIN_ID);
    config.mining = Mining::Consensus;
    (Node::open(config, &devnet::genesis(&keys)).expect("node opens"), keys)
}

/// Staker `i`'s transfer of 1 wei of stETH to staker `i + 1`, signed with `nonce`.
/// Valid for two hours.
fn transfer(node: &Node, keys: &DevKeys, i: usize, nonce: u64) -> Bytes {
    let to = address_of(&keys.stakers[(i + 1) % keys.stakers.len()]);
    let tx = Tx::Transfer { asset: AssetId(1), to, amount: U256::from(1) };
    let signed = node.read(|a| a.domain().sign(&keys.stakers[i], &tx, nonce, node.now() + 7_200));
    Bytes::from(tx_bytes(&signed).expect("encodes"))
}

fn check(abci: &Abci, tx: &Bytes, kind: CheckTxKind) -> response::CheckTx {
    abci.check_tx(&request::CheckTx { tx: tx.clone(), kind })
}

fn at(secs: i64) -> Time {
    Time::from_unix_timestamp(secs, 0).expect("time")
}

fn proposal(h: u64, time: Time, txs: Vec<Bytes>) -> request::ProcessProposal {
    drive::process(h, time, [h as u8; 32], txs)
}

fn finalize(h: u64, time: Time, txs: Vec<Bytes>) -> request::FinalizeBlock {
    drive::finalize(h, time, [h as u8; 32], txs)
}

fn code_of(r: &response::CheckTx) -> u32 {
    r.code.value()
}

#[test]
fn check_tx_names_every_kind_of_bad_input_and_admits_the_rest() {
    let dir = temp_dir("abci-check");
    let (node, keys) = open(&dir);
    let abci = Abci::new(Arc::clone(&node), None);

    let garbage = Bytes::from_static(b"\xff\xfe not a transaction");
    let r = check(&abci, &garbage, CheckTxKind::New);
    assert_eq!((code_of(&r), r.info.as_str(), r.codespace.as_str()), (code::MALFORMED, "Malformed", "cairn"), "{r:?}");

    let good = transfer(&node, &keys, 0, 0);
    let mut padded = good.to_vec();
    padded.push(0);
    let r = check(&abci, &Bytes::from(padded), CheckTxKind::New);
    assert_eq!(code_of(&r), code::MALFORMED, "trailing bytes are not the canonical form: {r:?}");
    assert!(r.log.contains("canonical") || r.log.contains("decode"), "{}", r.log);

    // A signature over other fields: the signer does not recover.
    let mut forged: cairn_node::SignedTx = postcard::from_bytes(&good).expect("decodes");
    forged.nonce = 7;
    let r = check(&abci, &Bytes::from(tx_bytes(&forged).expect("encodes")), CheckTxKind::New);
    assert_eq!(code_of(&r), code::ENVELOPE, "{r:?}");

    let far = transfer(&node, &keys, 0, 1_000_000);
    let r = check(&abci, &far, CheckTxKind::New);
    assert_eq!((code_of(&r), r.info.as_str()), (code::MEMPOOL, "FutureNonce"), "{r:?}");
    assert_eq!(node.mempool_len(), 0, "nothing refused was admitted");

    let r = check(&abci, &good, CheckTxKind::New);
    assert_eq!(r.code, Code::Ok, "{r:?}");
    assert_eq!(node.mempool_len(), 1);
    assert_eq!(check(&abci, &good, CheckTxKind::Recheck).code, Code::Ok, "still waiting");

    // Committed in a block: a recheck refuses the used nonce.
    let time = at(node.now() as i64);
    let prepared = abci.prepare_proposal(&drive::prepare(1, time, 1 << 20)).expect("prepares");
    assert_eq!(prepared.txs, vec![good.clone()], "the proposer takes its pool's transaction");
    assert_eq!(abci.process_proposal(&proposal(1, time, prepared.txs.clone())), response::ProcessProposal::Accept);
    let done = abci.finalize_block(&finalize(1, time, prepared.txs)).expect("finalizes");
    assert_eq!(done.tx_results.len(), 1);
    assert_eq!(done.tx_results[0].code, Code::Ok, "{:?}", done.tx_results[0]);
    abci.commit().expect("commits");
    assert_eq!(node.mempool_len(), 0);
    let r = check(&abci, &good, CheckTxKind::Recheck);
    assert_eq!((code_of(&r), r.info.as_str()), (code::STALE, "Stale"), "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn process_proposal_rejects_bad_blocks_and_finalize_takes_the_headers_time() {
    let dir = temp_dir("abci-proposal");
    let (node, keys) = open(&dir);
    let abci = Abci::new(Arc::clone(&node), None);
    // An hour ahead of the local clock: the block's time is the header's.
    let secs = node.now() + 3_600;
    let t = at(secs as i64);
    let (a0, a1) = (transfer(&node, &keys, 0, 0), transfer(&node, &keys, 0, 1));
    let reject = response::ProcessProposal::Reject;
    assert_eq!(abci.process_proposal(&proposal(1, t, vec![Bytes::from_static(b"junk")])), reject, "malformed");
    assert_eq!(abci.process_proposal(&proposal(1, t, vec![a1.clone(), a0.clone()])), reject, "nonces reversed");
    assert_eq!(abci.process_proposal(&proposal(2, t, vec![a0.clone()])), reject, "not the next height");
    assert_eq!(abci.process_proposal(&proposal(1, at(secs as i64 * 2), vec![a0.clone()])), reject, "expired");
    assert_eq!(node.read(|a| a.head().height), 0, "a rejected proposal changes nothing");

    assert_eq!(abci.process_proposal(&proposal(1, t, vec![a0.clone(), a1.clone()])), response::ProcessProposal::Accept);
    // A block is executed as decided, even with a transaction no one could verify: it is not
    // run, and its result says why (every validator alike).
    let fin = abci.finalize_block(&finalize(1, t, vec![a0, Bytes::from_static(b"junk"), a1])).expect("finalizes");
    let codes: Vec<u32> = fin.tx_results.iter().map(|r| r.code.value()).collect();
    assert_eq!(codes, vec![0, code::MALFORMED, 0]);
    abci.commit().expect("commits");
    let head = node.read(|a| a.head().clone());
    assert_eq!(head.time, secs, "block time is the consensus header's, not the local clock");
    assert_eq!(fin.app_hash.as_bytes(), head.state_hash.as_slice(), "the app hash is the block's state hash");
    assert_eq!(fin.tx_results[0].data.as_ref(), keccak_leaf(&node, 1, 0).as_slice(), "data is the receipt's leaf");
    assert!(abci.commit().is_err(), "Commit without a finalized block is an error");
    let _ = std::fs::remove_dir_all(&dir);
}

fn keccak_leaf(node: &Node, height: u64, index: u32) -> alloy_primitives::B256 {
    let r = node.read(|a| a.store().receipt(height, index)).expect("reads").expect("receipt");
    let leaf = r.leaf().expect("leaf");
    assert_ne!(leaf, keccak256([]));
    leaf
}

#[test]
fn a_crash_between_finalize_and_commit_re_executes_to_the_same_app_hash() {
    let dir = temp_dir("abci-crash");
    let t = at(2_000_000_000);
    let first = {
        let (node, keys) = open(&dir);
        let abci = Abci::new(Arc::clone(&node), None);
        let txs = vec![transfer(&node, &keys, 0, 0), transfer(&node, &keys, 1, 0)];
        let fin = abci.finalize_block(&finalize(1, t, txs.clone())).expect("finalizes");
        (fin, txs)
        // Dropped here without Commit: the process died.
    };
    let (node, _) = open(&dir);
    let abci = Abci::new(Arc::clone(&node), None);
    let info = abci.info().expect("info");
    assert_eq!(info.last_block_height.value(), 0, "nothing was committed");
    let again = abci.finalize_block(&finalize(1, t, first.1)).expect("finalizes again");
    assert_eq!(again.app_hash, first.0.app_hash, "byte-identical app hash");
    assert_eq!(again.tx_results, first.0.tx_results);
    abci.commit().expect("commits");
    let info = abci.info().expect("info");
    assert_eq!((info.last_block_height.value(), info.last_block_app_hash), (1, again.app_hash));
    let wrong = abci.finalize_block(&finalize(5, t, Vec::new()));
    assert!(wrong.is_err_and(|e| e.to_string().contains("next height is 2")), "a skipped height is an error");
    let _ = std::fs::remove_dir_all(&dir);
}
