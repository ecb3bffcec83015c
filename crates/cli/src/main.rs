//! `cairn`: the Cairn command-line tool.
//!
//! `cairn scenario run FILE [--quiet]` runs a scenario file, prints its JSON report to stdout and
//! a one-line summary to stderr. Exit status: 0 when every step passed, 1 when a step failed,
//! 2 when the file could not be read or does not match the format (or on a usage error).
//!
//! `cairn risk check FILE [--psi P/Q] [--json]` runs the risk engine on a restaking graph
//! (docs/risk.md). Exit status: 0 secure, 1 insecure (a witness attack exists), 2 on bad input.
//!
//! `cairn rewards calculate FILE [--end T]` runs a scenario and prints its cumulative rewards and
//! distribution root; `cairn rewards proof FILE EARNER` prints the earner's claim (docs/rewards.md).
//!
//! `cairn devnet` starts a node with a seeded world; `cairn keys`, `cairn tx` and `cairn query`
//! talk to a node (docs/node.md); `cairn vault` reads and uses a liquid restaking vault
//! (docs/vault.md); `cairn bench node` measures one under load; `cairn completions SHELL` prints
//! a shell's completion script.
//!
//! Exit status of the verbs that talk to a node (`tx`, `query`, `vault`, `keys`, `keeper`,
//! `bench node`):
//!
//! | exit | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | the node or the chain refused: a 4xx/5xx answer (at submission, or to a query, e.g. 404), or with `--wait` a committed receipt with `ok: false` (the receipt is printed all the same) |
//! | 2 | bad input: usage, an unparsable field, an unknown key file, a wrong password |
//! | 3 | the node is unreachable: connection refused, or no answer within 60 s |
//!
//! Output goes through one writer ([`cairn_cli::out`]): a closed pipe (`cairn query state | head
//! -c 10`) ends the command quietly with status 0 instead of a panic.
//!
//! Environment: `CAIRN_KEY` (the default `--key`), `CAIRN_PASSWORD` (an encrypted key file's
//! password; else a prompt), `CAIRN_HOME` (keys in `$CAIRN_HOME/keys`, else `~/.cairn/keys`).
#![forbid(unsafe_code)]

use std::{path::PathBuf, process::ExitCode};

use cairn_cli::{
    devnet,
    keys::{self, Protection},
    net, out, rewards, risk, scenario, testnet,
};
use clap::{CommandFactory, Parser, Subcommand};

/// Cairn: a restaking protocol. See README.md and docs/.
#[derive(Debug, Parser)]
#[command(
    name = "cairn",
    version,
    about,
    after_help = "Examples:\n  cairn devnet\n  cairn tx deposit strategy=1 amount=10e18 --key alice --wait\n  cairn query staker --key alice\n\nExit status: 0 ok, 1 refused by the node or chain, 2 bad input, 3 node unreachable.\nEnvironment: CAIRN_KEY (default --key), CAIRN_PASSWORD (key file password, else a prompt), CAIRN_HOME (keys in $CAIRN_HOME/keys)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scenario files: genesis, transactions, queries and expected outcomes (docs/scenarios.md).
    #[command(subcommand, after_help = "Examples:\n  cairn scenario run examples/lifecycle.toml --quiet")]
    Scenario(ScenarioCommand),
    /// The risk engine: is a restaking network secure, and what would a shock cost (docs/risk.md).
    #[command(subcommand, after_help = "Examples:\n  cairn risk check examples/risk/dr5.json --psi 1/10")]
    Risk(RiskCommand),
    /// The rewards calculator over a scenario's history (docs/rewards.md).
    #[command(subcommand, after_help = "Examples:\n  cairn rewards calculate examples/rewards.toml")]
    Rewards(RewardsCommand),
    /// Start a development chain: a node with an embedded store, a seeded world (ETH, three
    /// LSTs, five operators, four services, stakers) and workers that keep it alive.
    #[command(
        after_help = "Examples:\n  cairn devnet\n  cairn devnet --data-dir /tmp/dev --listen 127.0.0.1:9545 --stakers 100"
    )]
    Devnet(Box<devnet::DevnetArgs>),
    /// Mirror a node's chain into PostgreSQL: typed tables per event family, one database
    /// transaction per block, daily snapshots and analytics views (docs/indexer.md).
    #[command(
        after_help = "Examples:\n  cairn index --node http://127.0.0.1:8545 --postgres postgres://postgres@127.0.0.1:5432/cairn\n  cairn index --postgres postgres://postgres@127.0.0.1:5432/cairn --once\n\nA throw-away database: `bash scripts/postgres.sh start /tmp/pg` prints its URL."
    )]
    Index(Box<cairn_cli::index::IndexArgs>),
    /// A local multi-validator network under CometBFT: each validator a `cometbft` process and
    /// a Cairn application with its own store and API, on loopback ports (docs/node.md).
    #[command(
        after_help = "Examples:\n  cairn testnet --validators 4 --dir /tmp/net\n  cairn testnet --dir /tmp/net --no-workers --reset\n\nNeeds the cometbft binary: `bash scripts/install-cometbft.sh` installs it."
    )]
    Testnet(Box<testnet::TestnetArgs>),
    /// One validator's application under CometBFT: serves ABCI to it, the REST API to users, and
    /// forwards submitted transactions to CometBFT's mempool (`cairn testnet` starts these).
    #[command(
        after_help = "Examples:\n  cairn node --abci 127.0.0.1:26658 --comet-rpc http://127.0.0.1:26657 --listen 127.0.0.1:8545 --data-dir /tmp/v0"
    )]
    Node(Box<testnet::ValidatorArgs>),
    /// Devnet controls: mine blocks, move time, snapshot and revert, fund an address, post a
    /// rewards root (refused by a node that is not a devnet).
    #[command(
        after_help = "Examples:\n  cairn dev mine 50\n  cairn dev time 2h\n  cairn dev snapshot && cairn dev revert 1\n  cairn dev fund 0x1234…abcd --asset stETH --amount 50e18 --wait"
    )]
    Dev {
        #[command(subcommand)]
        command: cairn_cli::dev::DevCommand,
        /// Node URL.
        #[arg(long, global = true, default_value = "http://127.0.0.1:8545")]
        node: String,
        /// Wait for the transaction's commit (fund, rewards-root).
        #[arg(long, global = true)]
        wait: bool,
        /// Print compact JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Signing keys: create, import, list (keystore v3 files, encrypted with a password from
    /// $CAIRN_PASSWORD or a prompt, readable by their owner only).
    #[command(subcommand, after_help = "Examples:\n  cairn keys create alice\n  cairn keys list")]
    Keys(KeysCommand),
    /// Build, sign and submit a transaction: `cairn tx deposit strategy=1 amount=10e18 --key alice`.
    /// ACTION is any transaction kind (docs/scenarios.md); values that parse as JSON are JSON.
    /// Left out, `staker` (undelegate) and an operator's own `operator` are the signer's address.
    #[command(
        after_help = "Examples:\n  cairn tx deposit strategy=1 amount=10e18 --key alice --wait\n  cairn tx delegate_to operator=0x… --key alice --wait\n  cairn tx undelegate --key alice          # staker = alice's address\n\nExit status: 0 accepted (with --wait: committed and ok), 1 refused by the node or the chain, 2 bad input, 3 node unreachable."
    )]
    Tx {
        /// Transaction kind, e.g. `deposit`, `delegate_to`, `queue_withdrawals`.
        action: String,
        /// Fields as `name=value`.
        fields: Vec<String>,
        /// Key name (in the keys directory) or a 0x private key.
        #[arg(long, env = "CAIRN_KEY")]
        key: String,
        /// Node URL.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        node: String,
        /// Keys directory.
        #[arg(long)]
        keys_dir: Option<PathBuf>,
        /// Wait until the transaction is committed and print its receipt; a refusal exits 1.
        #[arg(long)]
        wait: bool,
        /// Seconds the transaction stays valid.
        #[arg(long, default_value_t = 600)]
        expiry: u64,
        /// Print JSON only.
        #[arg(long)]
        json: bool,
    },
    /// Read from a node: health, state, block [H], tx HASH, account ADDR, staker ADDR,
    /// withdrawals ADDR, operators, operator ADDR, allocations ADDR, services, operator-sets,
    /// slashes, rewards, claimed ADDR, blocks [BEFORE] and txs ADDR (paged history), eip712, or
    /// `ask JSON` (any scenario query). ADDR defaults to the address of `--key` (or $CAIRN_KEY).
    #[command(
        after_help = "Examples:\n  cairn query health\n  cairn query staker 0x…\n  cairn query staker --key alice\n  cairn query ask '{\"max_magnitude\": {\"operator\": \"0x…\", \"strategy\": 1}}'"
    )]
    Query {
        /// What to read.
        resource: String,
        /// Its argument.
        arg: Option<String>,
        /// Node URL.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        node: String,
        /// Whose address an address query reads when ARG is left out: a key name or 0x key.
        #[arg(long, env = "CAIRN_KEY")]
        key: Option<String>,
        /// Keys directory.
        #[arg(long)]
        keys_dir: Option<PathBuf>,
        /// Print compact JSON.
        #[arg(long)]
        json: bool,
    },
    /// The liquid restaking vault: show it, a position, tickets, rates; deposit, redeem,
    /// request a ticket, claim it (docs/vault.md).
    #[command(after_help = "Examples:\n  cairn vault show\n  cairn vault deposit stETH 10e18 --key alice --wait")]
    Vault {
        #[command(subcommand)]
        command: VaultCommand,
        /// Node URL.
        #[arg(long, global = true, default_value = "http://127.0.0.1:8545")]
        node: String,
        /// The vault's number.
        #[arg(long, global = true, default_value_t = 0)]
        vault: u32,
        /// Print compact JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// The vault keeper: prices, rate updates, targets from the optimizer, rebalances,
    /// finalizations and reward claims, as signed transactions (docs/vault.md).
    #[command(
        subcommand,
        after_help = "Examples:\n  cairn keeper run --key keeper --reporter oracle0 --reporter oracle1 --devnet-feed"
    )]
    Keeper(KeeperCommand),
    /// Benchmarks that need a running system.
    #[command(
        subcommand,
        after_help = "Examples:\n  cairn bench node --txs 10000\n  cairn bench node --node http://127.0.0.1:8545 --accounts 100 --txs 5000"
    )]
    Bench(BenchCommand),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  cairn completions bash > /etc/bash_completion.d/cairn\n  cairn completions zsh > \"${fpath[1]}/_cairn\"\n  cairn completions fish > ~/.config/fish/completions/cairn.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum KeeperCommand {
    /// Keep a vault: a round every `--every` seconds until stopped (or once).
    #[command(
        after_help = "Examples:\n  cairn keeper run --key keeper --reporter oracle0 --reporter oracle1 --devnet-feed\n  cairn keeper run --key keeper --once"
    )]
    Run {
        /// Node URL.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        node: String,
        /// The keeper's key (name or 0x private key): the vault's keeper role.
        #[arg(long, env = "CAIRN_KEY")]
        key: String,
        /// Price committee keys to report with (a quorum of them); none: no price rounds.
        #[arg(long)]
        reporter: Vec<String>,
        /// Report the devnet's deterministic LST prices.
        #[arg(long)]
        devnet_feed: bool,
        /// The vault's number.
        #[arg(long, default_value_t = 0)]
        vault: u32,
        /// Seconds between rounds.
        #[arg(long, default_value_t = 5)]
        every: u64,
        /// Seconds between recomputing the targets.
        #[arg(long, default_value_t = 300)]
        retarget_every: u64,
        /// One round, then exit.
        #[arg(long)]
        once: bool,
        /// Keys directory.
        #[arg(long)]
        keys_dir: Option<PathBuf>,
    },
}

/// How a vault write is signed.
#[derive(Debug, clap::Args)]
struct Signer {
    /// Key name (in the keys directory) or a 0x private key.
    #[arg(long, env = "CAIRN_KEY")]
    key: String,
    /// Keys directory.
    #[arg(long)]
    keys_dir: Option<PathBuf>,
    /// Wait until the transaction is committed; a refusal then exits 1.
    #[arg(long)]
    wait: bool,
}

#[derive(Debug, Subcommand)]
enum VaultCommand {
    /// Every vault with its supply and rates.
    #[command(after_help = "Examples:\n  cairn vault list")]
    List,
    /// The vault valued now: rates, assets, reserve, places, unbondings, targets.
    #[command(after_help = "Examples:\n  cairn vault show --vault 0")]
    Show,
    /// A holder's tokens, their value, its tickets and what it can redeem at once.
    #[command(after_help = "Examples:\n  cairn vault position 0x…")]
    Position {
        /// The holder (0x address).
        address: String,
    },
    /// Tickets with their ETA (all, or one owner's).
    #[command(after_help = "Examples:\n  cairn vault tickets --owner 0x…")]
    Tickets {
        /// Only this owner's.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Settlements with their attribution, and APRs over 7 and 30 days with their windows.
    #[command(after_help = "Examples:\n  cairn vault rates --json")]
    Rates,
    /// The policy, the targets and the exposure per service.
    #[command(after_help = "Examples:\n  cairn vault policy")]
    Policy,
    /// Deposit an asset (symbol or id) for receipt tokens.
    #[command(after_help = "Examples:\n  cairn vault deposit stETH 10e18 --key alice --wait")]
    Deposit {
        /// Asset symbol (ETH, stETH...) or id.
        asset: String,
        /// Amount in the smallest unit (`10e18` is 10 tokens of 18 decimals).
        amount: String,
        /// Fewest receipt tokens accepted.
        #[arg(long, default_value = "0")]
        min_out: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Redeem receipt tokens at once from the buffer (a fee that rises as the buffer drains).
    #[command(after_help = "Examples:\n  cairn vault redeem 5e18 stETH --key alice --wait")]
    Redeem {
        /// Receipt tokens.
        shares: String,
        /// Asset paid.
        asset: String,
        /// Smallest amount accepted.
        #[arg(long, default_value = "0")]
        min_out: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Lock receipt tokens for a ticket with an ETA (no fee).
    #[command(after_help = "Examples:\n  cairn vault request 5e18 stETH --key alice")]
    Request {
        /// Receipt tokens.
        shares: String,
        /// Asset paid.
        asset: String,
        /// Smallest requested amount accepted.
        #[arg(long, default_value = "0")]
        min_out: String,
        #[command(flatten)]
        signer: Signer,
    },
    /// Claim a due ticket.
    #[command(after_help = "Examples:\n  cairn vault claim 3 --key alice --wait")]
    Claim {
        /// The ticket's id.
        ticket: u64,
        #[command(flatten)]
        signer: Signer,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a random key, encrypted (keystore v3) with a password from $CAIRN_PASSWORD or a
    /// prompt.
    #[command(
        after_help = "Examples:\n  cairn keys create alice\n  CAIRN_PASSWORD=… cairn keys create bot\n  cairn keys create throwaway --insecure-plaintext   # devnet only"
    )]
    Create {
        /// Name.
        name: String,
        /// Keys directory (default `$CAIRN_HOME/keys` or `~/.cairn/keys`).
        #[arg(long)]
        keys_dir: Option<PathBuf>,
        /// Store the private key unencrypted (devnet convenience; never for real funds).
        #[arg(long)]
        insecure_plaintext: bool,
    },
    /// Import a 0x private key (asked for when left out), encrypted like `create`.
    #[command(
        after_help = "Examples:\n  cairn keys import bob            # asks for the private key\n  cairn keys import bob 0x…"
    )]
    Import {
        /// Name.
        name: String,
        /// The private key (0x + 64 hex digits); left out, it is asked for without echo.
        private_key: Option<String>,
        /// Keys directory.
        #[arg(long)]
        keys_dir: Option<PathBuf>,
        /// Store the private key unencrypted (devnet convenience; never for real funds).
        #[arg(long)]
        insecure_plaintext: bool,
    },
    /// List keys: names, addresses, and which files are encrypted.
    #[command(after_help = "Examples:\n  cairn keys list\n  cairn keys list --keys-dir ./keys")]
    List {
        /// Keys directory.
        #[arg(long)]
        keys_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Load a node in a temporary directory over HTTP: signed transfers submitted and committed
    /// (every block persisted), then position reads; prints throughput and latency (JSON).
    /// With `--node URL`, load that running devnet instead, signing with its funded staker keys.
    #[command(
        after_help = "Examples:\n  cairn bench node --txs 10000 --accounts 1000\n  cairn bench node --node http://127.0.0.1:8545 --txs 5000 --accounts 100"
    )]
    Node {
        /// Transactions.
        #[arg(long, default_value_t = 100_000)]
        txs: usize,
        /// Signing accounts (default 10,000; with `--node`, 100 of the devnet's stakers).
        #[arg(long)]
        accounts: Option<usize>,
        /// A running devnet to load (chain 31337, e.g. `http://127.0.0.1:8545`) instead of a
        /// temporary node; its block interval is its own.
        #[arg(long, value_name = "URL")]
        node: Option<String>,
        /// Concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Transactions per request (1 uses `POST /v1/tx`).
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Position reads.
        #[arg(long, default_value_t = 100_000)]
        reads: usize,
        /// Milliseconds between blocks.
        #[arg(long, default_value_t = 100)]
        block_ms: u64,
        /// Offered load, transactions per second (paced requests); without it, as fast as the
        /// clients go (the peak).
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Start a local CometBFT network in a temporary directory and load it: signed transfers
    /// submitted across every validator's API; prints committed tx/s, submission-to-commit
    /// latency, block interval and the application's time per block (JSON).
    #[command(after_help = "Examples:\n  cairn bench testnet --txs 20000 --accounts 2000")]
    Testnet {
        /// Validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Transactions.
        #[arg(long, default_value_t = 20_000)]
        txs: usize,
        /// Signing accounts (the genesis funds this many devnet stakers).
        #[arg(long, default_value_t = 2_000)]
        accounts: usize,
        /// Concurrent clients (spread over the validators).
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Transactions per request.
        #[arg(long, default_value_t = 250)]
        batch: usize,
        /// CometBFT's timeout_commit, milliseconds.
        #[arg(long, default_value_t = 100)]
        block_ms: u64,
        /// Offered load, transactions per second (paced requests); without it, as fast as the
        /// clients go (the peak).
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Build a chain of N transactions, serve it on a loopback port and time the indexer's
    /// catch-up into a fresh database on a PostgreSQL server (JSON; docs/indexer.md).
    #[command(
        after_help = "Examples:\n  cairn bench index --txs 1000000 --postgres URL --chain-dir /tmp/chain1m\n\nA throw-away server: `bash scripts/postgres.sh start /tmp/pg` prints its URL."
    )]
    Index {
        /// The chain.
        #[command(flatten)]
        chain: ChainArgs,
        /// A PostgreSQL server; the bench creates and drops its own database there.
        #[arg(long, env = "CAIRN_POSTGRES")]
        postgres: String,
        /// Keep the chain in this directory and reuse it on later runs.
        #[arg(long)]
        chain_dir: Option<PathBuf>,
        /// Blocks fetched ahead of the writer.
        #[arg(long, default_value_t = 8)]
        prefetch: usize,
        /// Run the foreign keys' per-row checks on the indexer's writes too.
        #[arg(long)]
        keep_fk_checks: bool,
    },
    /// Follow a running node (e.g. `cairn devnet`) for SECONDS into a fresh database on a
    /// PostgreSQL server: per block, the lag from the node's announcement to the commit (JSON).
    #[command(
        after_help = "Examples:\n  cairn devnet --in-memory &\n  cairn bench follow --node http://127.0.0.1:8545 --postgres URL --seconds 60"
    )]
    Follow {
        /// The node's API.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        node: String,
        /// A PostgreSQL server; the bench creates and drops its own database there.
        #[arg(long, env = "CAIRN_POSTGRES")]
        postgres: String,
        /// How long to follow.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Build a chain of N stored transactions (rewards history on) in a temporary directory,
    /// then time reopening it: restart time must not grow with the chain (JSON).
    #[command(after_help = "Examples:\n  cairn bench restart --txs 100000 --reopens 3")]
    Restart {
        /// The chain.
        #[command(flatten)]
        chain: ChainArgs,
        /// Clean reopens to time after the first one, which follows a SIGKILL.
        #[arg(long, default_value_t = 3)]
        reopens: usize,
        /// Internal: build the chain into this directory, print it, and wait to be killed.
        #[arg(long, hide = true)]
        build_into: Option<PathBuf>,
    },
}

/// The stored chain `bench restart` and `bench index` build.
#[derive(Debug, clap::Args)]
struct ChainArgs {
    /// Transactions to store.
    #[arg(long, default_value_t = 1_000_000)]
    txs: usize,
    /// Signing accounts.
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    /// Transactions per block.
    #[arg(long, default_value_t = 5_000)]
    per_block: usize,
}

impl ChainArgs {
    fn spec(&self) -> cairn_node::loadgen::RestartSpec {
        cairn_node::loadgen::RestartSpec { txs: self.txs, accounts: self.accounts, per_block: self.per_block }
    }
}

#[derive(Debug, Subcommand)]
enum RewardsCommand {
    /// A node's claimable rewards for an earner, per token, against its active root.
    #[command(after_help = "Examples:\n  cairn rewards show 0x1234…abcd")]
    Show {
        /// The earner (0x address).
        earner: String,
        /// Node URL.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        node: String,
    },
    /// Claim everything claimable: the node builds the proof, the key signs `process_claim`.
    #[command(
        after_help = "Examples:\n  cairn rewards claim --key alice --wait\n  cairn rewards claim --key claimer --earner 0x1234…abcd --recipient 0x5678…ef01"
    )]
    Claim {
        /// The earner's key (or its claimer's, with `--earner`).
        #[arg(long, env = "CAIRN_KEY")]
        key: String,
        /// The earner, when the key is its claimer.
        #[arg(long)]
        earner: Option<String>,
        /// Who receives the tokens (default: the earner).
        #[arg(long)]
        recipient: Option<String>,
        /// Node URL.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        node: String,
        /// Keys directory.
        #[arg(long)]
        keys_dir: Option<PathBuf>,
        /// Wait until the claim is committed.
        #[arg(long)]
        wait: bool,
    },
    /// Run a scenario, then print the cumulative earnings through `--end` and their merkle root
    /// (JSON).
    #[command(after_help = "Examples:\n  cairn rewards calculate examples/rewards.toml --end 259200")]
    Calculate {
        /// The scenario file.
        file: PathBuf,
        /// Last day counted (unix seconds, a day boundary); default: the last boundary before the
        /// scenario's last step.
        #[arg(long)]
        end: Option<u64>,
    },
    /// Run a scenario, calculate, and print the claim (merkle proofs) of one earner (JSON).
    #[command(after_help = "Examples:\n  cairn rewards proof examples/rewards.toml alice")]
    Proof {
        /// The scenario file.
        file: PathBuf,
        /// The earner: an account name or a 0x address.
        earner: String,
        /// Last day counted, as for `calculate`.
        #[arg(long)]
        end: Option<u64>,
        /// The index the root has (or will have) on chain.
        #[arg(long, default_value_t = 0)]
        root_index: u32,
    },
}

#[derive(Debug, Subcommand)]
enum RiskCommand {
    /// Check a restaking graph (JSON): exact security with a witness, γ*, leverage, and with
    /// `--psi` the worst-case loss after a shock.
    #[command(
        after_help = "Examples:\n  cairn risk check examples/risk/dr5.json\n  cairn risk check examples/risk/dr5.json --psi 0.05,0.1,1/5 --json\n  cairn risk check --deep=30 examples/risk/forty_operators.json\n\nExit status: 0 secure, 1 insecure, 3 undecided (no proof either way within the limits), 2 bad input."
    )]
    Check {
        /// The graph document.
        file: PathBuf,
        /// Shock sizes ψ as fractions of all stake: `1/10`, `0.1`, or a list `0.05,0.1,0.2`.
        #[arg(long, value_delimiter = ',')]
        psi: Vec<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Give each search beyond the polynomial bounds (exact certificate beside HiGHS, elastic
        /// programs) 60 seconds, or SECONDS with `--deep=SECONDS`, instead of 10.
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, require_equals = true, default_missing_value = "60")]
        deep: Option<u64>,
        /// What an attacker is willing to lose (the elastic model's L; replaces the document's
        /// `budget`), e.g. `5`, `1.5`, `32e18`.
        #[arg(long)]
        budget: Option<String>,
    },
    /// The elastic model's symmetric closed form: n validators of stake σ, S services of prize π
    /// and threshold θ, degree d (docs/risk.md). Numbers are integers or `p/q`.
    #[command(
        after_help = "Examples:\n  cairn risk symmetric --validators 10 --services 5 --stake 32 --prize 100 --threshold 1/3 --degree 2"
    )]
    Symmetric {
        /// n.
        #[arg(long)]
        validators: u64,
        /// S.
        #[arg(long)]
        services: u64,
        /// σ per validator.
        #[arg(long)]
        stake: String,
        /// π per service.
        #[arg(long)]
        prize: String,
        /// θ, e.g. 1/3.
        #[arg(long)]
        threshold: String,
        /// Restaking degree d (with a base, d − 1 is spread over the services).
        #[arg(long)]
        degree: String,
        /// Prize π_0 of a base service every validator backs in full (same θ).
        #[arg(long)]
        base_prize: Option<String>,
        /// What the attacker is willing to lose, L.
        #[arg(long, default_value = "0")]
        budget: String,
    },
    /// Run a scenario and report a vault's exposure: what each service could take of its stake,
    /// the worst single service and any k together, and its targets' worst loss (docs/risk.md).
    #[command(after_help = "Examples:\n  cairn risk vault examples/vault_stacked_yield.toml --json")]
    Vault {
        /// The scenario file.
        file: PathBuf,
        /// The vault's number.
        #[arg(long, default_value_t = 0)]
        vault: u32,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a scenario and check the graph of its final state: operators, the operator sets its
    /// `[[risk]]` entries declare (prize and threshold), allocated stake (docs/risk.md).
    #[command(after_help = "Examples:\n  cairn risk scenario examples/risk_network.toml --psi 1/10")]
    Scenario {
        /// The scenario file.
        file: PathBuf,
        /// Shock sizes ψ as fractions of all stake: `1/10`, `0.1`, or a list `0.05,0.1,0.2`.
        #[arg(long, value_delimiter = ',')]
        psi: Vec<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Give each search beyond the polynomial bounds (exact certificate beside HiGHS, elastic
        /// programs) 60 seconds, or SECONDS with `--deep=SECONDS`, instead of 10.
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, require_equals = true, default_missing_value = "60")]
        deep: Option<u64>,
        /// What an attacker is willing to lose (the elastic model's L; replaces the document's
        /// `budget`), e.g. `5`, `1.5`, `32e18`.
        #[arg(long)]
        budget: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ScenarioCommand {
    /// Run a scenario file and print its JSON report; exit 1 if any step fails.
    #[command(
        after_help = "Examples:\n  cairn scenario run examples/lifecycle.toml\n  cairn scenario run examples/lifecycle.toml --quiet"
    )]
    Run {
        /// The scenario file (TOML, or JSON when it ends in .json).
        file: PathBuf,
        /// Do not print the JSON report; only the summary (and failures) on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
}

/// The process allocator: mimalloc's per-thread heaps. Under load glibc's malloc spent ~11 % of
/// the node's CPU (consolidating and unlinking chunks freed on other threads). Built not to ask
/// for transparent huge pages (`no_thp` in Cargo.toml), whose 2 MiB faults cost the node ~6 %.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scenario(ScenarioCommand::Run { file, quiet }) => run_scenario(&file, quiet),
        Command::Rewards(cmd) => run_rewards(cmd),
        Command::Devnet(args) => report(devnet::run(&args).map(|()| serde_json::Value::Null), true),
        Command::Index(args) => report(cairn_cli::index::run(&args), false),
        Command::Testnet(args) => report(testnet::run(&args).map(|()| serde_json::Value::Null), true),
        Command::Node(args) => report(testnet::run_validator(&args).map(|()| serde_json::Value::Null), true),
        Command::Dev { command, node, wait, json } => report(cairn_cli::dev::run(&node, command, wait), json),
        Command::Keys(cmd) => run_keys(cmd),
        Command::Tx { action, fields, key, node, keys_dir, wait, expiry, json } => report(
            net::read_key(&net::keys_dir(keys_dir), &key)
                .and_then(|k| net::body_from_pairs(&fields).map(|b| (k, b)))
                .and_then(|(k, body)| net::tx(&node, &k, &action, body, wait, expiry)),
            json,
        ),
        Command::Query { resource, arg, node, key, keys_dir, json } => report(
            net::query_arg(&resource, arg, key, &net::keys_dir(keys_dir))
                .and_then(|arg| net::query(&node, &resource, arg.as_deref())),
            json,
        ),
        Command::Vault { command, node, vault, json } => report(run_vault(command, &node, vault), json),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cairn", &mut script);
            out::print_raw(&String::from_utf8_lossy(&script));
            ExitCode::SUCCESS
        }
        Command::Keeper(KeeperCommand::Run {
            node,
            key,
            reporter,
            devnet_feed,
            vault,
            every,
            retarget_every,
            once,
            keys_dir,
        }) => report(
            (|| {
                let dir = net::keys_dir(keys_dir);
                let keeper = net::read_key(&dir, &key)?;
                let reporters = reporter.iter().map(|r| net::read_key(&dir, r)).collect::<anyhow::Result<Vec<_>>>()?;
                let n = reporters.len();
                let mut chain = cairn_cli::keeper::HttpChain::new(&node, keeper, reporters)?;
                let mut bot = cairn_keeper::bot::Bot::new(cairn_keeper::bot::BotConfig {
                    vault: cairn_primitives::VaultId(vault),
                    price_every: every.max(1) * 2,
                    update_every: every.max(1) * 2,
                    retarget_every,
                    reporters: n,
                    optimizer: cairn_keeper::optimizer::Config::default(),
                });
                cairn_cli::keeper::run(&mut chain, &mut bot, devnet_feed, std::time::Duration::from_secs(every), once)
            })(),
            false,
        ),
        Command::Bench(BenchCommand::Node { txs, accounts, node, clients, batch, reads, block_ms, rate }) => {
            let spec = cairn_node::loadgen::LoadSpec {
                txs,
                accounts: accounts.unwrap_or(if node.is_some() { 100 } else { 10_000 }),
                clients,
                batch,
                reads,
                block_interval: std::time::Duration::from_millis(block_ms),
                progress: Some(net::progress_bar()),
                rate,
            };
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => return report(Err(e.into()), true),
            };
            let result = match node {
                Some(url) => rt.block_on(cairn_node::loadgen::run_against(&url, spec)),
                None => rt.block_on(cairn_node::loadgen::run(spec)),
            };
            report(result.and_then(|r| Ok(serde_json::to_value(r)?)), false)
        }
        Command::Bench(BenchCommand::Testnet { validators, txs, accounts, clients, batch, block_ms, rate }) => {
            let load = cairn_node::loadgen::LoadSpec {
                txs,
                accounts,
                clients,
                batch,
                reads: 0,
                block_interval: std::time::Duration::from_millis(block_ms),
                progress: Some(net::progress_bar()),
                rate,
            };
            report(testnet::bench(testnet::BenchSpec { validators, load, block_ms }), false)
        }
        Command::Bench(BenchCommand::Index { chain, postgres, chain_dir, prefetch, keep_fk_checks }) => {
            let spec =
                cairn_cli::index::BenchSpec { chain: chain.spec(), postgres, chain_dir, prefetch, keep_fk_checks };
            report(cairn_cli::index::bench(&spec), false)
        }
        Command::Bench(BenchCommand::Follow { node, postgres, seconds }) => {
            report(cairn_cli::index::bench_follow(&node, &postgres, seconds), false)
        }
        Command::Bench(BenchCommand::Restart { chain, reopens, build_into }) => {
            let spec = chain.spec();
            report(net::bench_restart(&spec, reopens, build_into.as_deref()), false)
        }
        Command::Risk(RiskCommand::Check { file, psi, json, deep, budget }) => {
            run_risk(&file, &psi, json, deep, budget.as_deref(), false)
        }
        Command::Risk(RiskCommand::Scenario { file, psi, json, deep, budget }) => {
            run_risk(&file, &psi, json, deep, budget.as_deref(), true)
        }
        Command::Risk(RiskCommand::Vault { file, vault, json }) => match risk::vault_scenario(&file, vault) {
            Ok(v) if json => report(Ok(v), false),
            Ok(v) => {
                out::print_raw(&risk::vault_human(&v));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                ExitCode::from(2)
            }
        },
        Command::Risk(RiskCommand::Symmetric {
            validators,
            services,
            stake,
            prize,
            threshold,
            degree,
            base_prize,
            budget,
        }) => {
            let parsed = (|| -> Result<cairn_risk::elastic::Symmetric, String> {
                Ok(cairn_risk::elastic::Symmetric {
                    validators,
                    services,
                    stake: risk::rational(&stake)?,
                    prize: risk::rational(&prize)?,
                    threshold: cairn_risk::Ratio::parse(&threshold)?,
                    degree: risk::rational(&degree)?,
                    base_prize: base_prize.as_deref().map(risk::rational).transpose()?,
                    budget: risk::rational(&budget)?,
                })
            })();
            match parsed.and_then(|net| risk::symmetric(&net).map(|text| (net, text))) {
                Ok((net, text)) => {
                    out::print_raw(&text);
                    if net.secure(0) { ExitCode::SUCCESS } else { ExitCode::from(1) }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn run_vault(cmd: VaultCommand, node: &str, id: u32) -> anyhow::Result<serde_json::Value> {
    use cairn_cli::vault as v;
    let write = |s: &Signer| -> anyhow::Result<(k256::ecdsa::SigningKey, bool)> {
        Ok((net::read_key(&net::keys_dir(s.keys_dir.clone()), &s.key)?, s.wait))
    };
    match cmd {
        VaultCommand::List => v::list(node),
        VaultCommand::Show => v::show(node, id),
        VaultCommand::Position { address } => v::position(node, id, &address),
        VaultCommand::Tickets { owner } => v::tickets(node, id, owner.as_deref()),
        VaultCommand::Rates => v::rates(node, id),
        VaultCommand::Policy => v::policy(node, id),
        VaultCommand::Deposit { asset, amount, min_out, signer } => {
            let (key, wait) = write(&signer)?;
            v::deposit(&v::Write { node, key: &key, vault: id, wait }, &asset, &amount, &min_out)
        }
        VaultCommand::Redeem { shares, asset, min_out, signer } => {
            let (key, wait) = write(&signer)?;
            v::redeem(&v::Write { node, key: &key, vault: id, wait }, &shares, &asset, &min_out)
        }
        VaultCommand::Request { shares, asset, min_out, signer } => {
            let (key, wait) = write(&signer)?;
            v::request(&v::Write { node, key: &key, vault: id, wait }, &shares, &asset, &min_out)
        }
        VaultCommand::Claim { ticket, signer } => {
            let (key, wait) = write(&signer)?;
            v::claim(&v::Write { node, key: &key, vault: id, wait }, ticket)
        }
    }
}

/// Prints a JSON result (pretty unless `compact`) or the error; the exit status of its kind
/// (0, or 1 refused, 2 bad input, 3 unreachable).
fn report(result: anyhow::Result<serde_json::Value>, compact: bool) -> ExitCode {
    out::report(result, compact)
}

fn run_keys(cmd: KeysCommand) -> ExitCode {
    let protection = |plain: bool| if plain { Protection::Plaintext } else { Protection::Encrypted };
    match cmd {
        KeysCommand::Create { name, keys_dir, insecure_plaintext } => {
            let created = keys::create(&keys::keys_dir(keys_dir), &name, protection(insecure_plaintext));
            let hint = created.as_ref().ok().map(|v| keys::funding_hint(&v["address"]));
            let code = report(created, false);
            if let Some(hint) = hint {
                out::eprint(&hint);
            }
            code
        }
        KeysCommand::Import { name, private_key, keys_dir, insecure_plaintext } => report(
            private_key
                .map_or_else(
                    || {
                        rpassword::prompt_password("Private key (0x…): ").map_err(|e| {
                            out::bad_input(format!("no private key: give it as an argument or in a terminal ({e})"))
                        })
                    },
                    Ok,
                )
                .and_then(|hex| {
                    keys::import(&keys::keys_dir(keys_dir), &name, hex.trim(), protection(insecure_plaintext))
                }),
            false,
        ),
        KeysCommand::List { keys_dir } => report(keys::list(&keys::keys_dir(keys_dir)), false),
    }
}

fn run_rewards(cmd: RewardsCommand) -> ExitCode {
    let result = match cmd {
        RewardsCommand::Show { earner, node } => return report(cairn_cli::dev::rewards_show(&node, &earner), false),
        RewardsCommand::Claim { key, earner, recipient, node, keys_dir, wait } => {
            let claimed = net::read_key(&net::keys_dir(keys_dir), &key)
                .and_then(|k| cairn_cli::dev::rewards_claim(&node, &k, earner.as_deref(), recipient.as_deref(), wait));
            return report(claimed, false);
        }
        RewardsCommand::Calculate { file, end } => rewards::calculate_file(&file, end).map(|c| c.to_json()),
        RewardsCommand::Proof { file, end, earner, root_index } => {
            rewards::calculate_file(&file, end).and_then(|c| c.proof(&earner, root_index))
        }
    };
    match result.and_then(|v| serde_json::to_string_pretty(&v).map_err(Into::into)) {
        Ok(text) => {
            out::print(&text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_risk(
    file: &PathBuf,
    psi: &[String],
    json: bool,
    deep: Option<u64>,
    budget: Option<&str>,
    scenario: bool,
) -> ExitCode {
    let opts = match risk::options(psi, deep) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: --psi: {e}");
            return ExitCode::from(2);
        }
    };
    let budget = match budget.map(|b| cairn_risk::graph::Amount::parse(b).ok_or(b)).transpose() {
        Ok(b) => b,
        Err(b) => {
            eprintln!("error: --budget: {b:?} is not an amount (5, 1.5, 32e18)");
            return ExitCode::from(2);
        }
    };
    let result = if scenario {
        risk::check_scenario(file, &opts, budget)
    } else {
        std::fs::read_to_string(file).map_err(|e| e.to_string()).and_then(|t| risk::check(&t, &opts, budget))
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => out::print(&text),
            Err(e) => {
                eprintln!("error: cannot print the report: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        out::print_raw(&risk::human(&report));
    }
    ExitCode::from(risk::exit_code(&report))
}

fn run_scenario(file: &PathBuf, quiet: bool) -> ExitCode {
    let report = match scenario::run_file(file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    if !quiet {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => out::print(&json),
            Err(e) => {
                eprintln!("error: cannot print the report: {e}");
                return ExitCode::from(2);
            }
        }
    }
    for line in report.failure_lines() {
        eprintln!("  FAILED {line}");
    }
    eprintln!("{}", report.summary_line());
    if report.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every verb, at every depth, shows examples in its help.
    #[test]
    fn every_verb_has_examples_in_its_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let path = format!("{path} {}", sub.get_name());
                if !sub.get_after_help().is_some_and(|h| h.to_string().contains("Examples:\n  cairn ")) {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let cli = Cli::command();
        cli.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&cli, "cairn", &mut missing);
        assert!(missing.is_empty(), "no examples: {missing:?}");
    }
}
