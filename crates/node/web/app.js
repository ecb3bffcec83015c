// Cairn's web app: one plain ES module, no build step, served by the node. Pages are hash
// routes; each is rendered from the node's REST API and refreshed when the event stream
// announces a block. Amounts are integers (wei strings) formatted with BigInt, never floats.

const $ = (sel, el = document) => el.querySelector(sel);
const WAD = 10n ** 18n;

/** Escapes text for HTML. */
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** A typed API error: the node's `error` name and `message`. */
class ApiError extends Error {
  constructor(name, message, status) { super(message); this.name = name; this.status = status; }
}

async function api(path, opts) {
  const r = await fetch(path, opts);
  const j = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(j?.error || 'HttpError', j?.message || `${r.status} ${r.statusText}`, r.status);
  return j;
}
const post = (path, body) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** `InsufficientBalance` → `Insufficient balance`. */
const words = (name) => String(name).replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase()).replace(/ ([A-Z])(?=[a-z])/g, (m, c) => ' ' + c.toLowerCase());

/** A wei amount (decimal or 0x string) as tokens with `dp` decimals, rounded down. */
function tokens(wei, dp = 4) {
  if (wei === null || wei === undefined) return '—';
  let v = BigInt(wei);
  const neg = v < 0n; if (neg) v = -v;
  const whole = v / WAD;
  const frac = (v % WAD).toString().padStart(18, '0').slice(0, dp);
  return `${neg ? '−' : ''}${whole.toLocaleString('en-US')}${dp ? '.' + frac : ''}`;
}
/** Tokens typed by a person ("1.5") as wei, exactly. */
function toWei(text) {
  const t = String(text).trim();
  if (!/^\d+(\.\d{0,18})?$/.test(t)) throw new ApiError('BadAmount', `"${t}" is not an amount: use digits and at most 18 decimals, e.g. 1.5`);
  const [w, f = ''] = t.split('.');
  return (BigInt(w) * WAD + BigInt(f.padEnd(18, '0'))).toString();
}
const short = (a) => a ? `${a.slice(0, 6)}…${a.slice(-4)}` : '—';
const link = (kind, a) => `<a class="mono" href="#/${kind}/${esc(a)}">${esc(short(a))}</a>`;
const pct = (wad) => `${(Number(BigInt(wad) * 10000n / WAD) / 100).toFixed(2)}%`;

// ---- chain facts shared by every page -------------------------------------------------------

const chain = { head: 0, now: 0, chainId: null, blockSeconds: 12, assets: {}, strategies: {}, events: [], eip712: null };

async function refreshChain() {
  const h = await api('/health');
  chain.head = h.height; chain.now = h.now; chain.chainId = h.chain_id;
  $('#head').textContent = `chain ${h.chain_id} · block ${h.height}${h.devnet ? ' · devnet' : ''}`;
  const page = await api('/v1/blocks?limit=20');
  const times = (page.blocks || page.headers || []).map((b) => (b.header || b).time).filter((t) => t > 0);
  if (times.length > 1) chain.blockSeconds = Math.max(1, (times[0] - times[times.length - 1]) / (times.length - 1));
}

async function loadSymbols() {
  const s = await post('/v1/query', { summary: {} });
  for (const a of s.assets) chain.assets[a.id] = a.symbol;
  for (const st of s.strategies) chain.strategies[st.id] = chain.assets[st.asset] ?? `asset ${st.asset}`;
  return s;
}
const strategyName = (id) => `${chain.strategies[id] ?? 'strategy'} (#${id})`;

/** A block's estimated wall time from the head and the recent block rate; the block is exact. */
function eta(block) {
  const left = block - chain.head;
  if (left <= 0) return 'reached';
  const at = new Date((chain.now + left * chain.blockSeconds) * 1000);
  return `in ${left} blocks, about ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

// ---- plots ----------------------------------------------------------------------------------

const samples = new Map(); // key → [[times], [values]]
function sample(key, value) {
  const s = samples.get(key) || [[], []];
  s[0].push(Date.now() / 1000); s[1].push(value);
  if (s[0].length > 500) { s[0].shift(); s[1].shift(); }
  samples.set(key, s);
  return s;
}
function plot(el, title, series, data, label) {
  if (!window.uPlot || !el) return;
  if (data[0].length < 2) { el.innerHTML = `<p class="muted">${esc(title)}: not enough points yet (the plot starts with the second)</p>`; return; }
  el.innerHTML = '';
  const width = Math.min(el.clientWidth || 700, 1100);
  // eslint-disable-next-line no-new
  new window.uPlot({ title, width, height: 220, series: [{}, ...series.map((s, i) => ({ label: s, stroke: ['#2f5d8a', '#b7791f', '#276749', '#a33', '#6b46c1'][i % 5], width: 2 }))], scales: { x: { time: true } }, axes: [{}, { label }] }, data, el);
}

// ---- the event stream -----------------------------------------------------------------------

let refreshTimer = null;
function liveUpdates() {
  const es = new EventSource('/v1/events');
  es.addEventListener('new_block', async (e) => {
    const block = JSON.parse(e.data);
    const height = block.header?.height ?? block.height;
    chain.head = Math.max(chain.head, height ?? 0);
    try {
      const b = await api(`/v1/blocks/${height}`);
      for (const r of b.receipts || []) for (const ev of r.events || []) chain.events.unshift({ height, tx: r.tx_hash, ev });
      chain.events.length = Math.min(chain.events.length, 100);
    } catch (_) { /* pruned or gone: the head still moves */ }
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => render(true), 250);
  });
  es.addEventListener('reverted', () => render(true));
}

// ---- wallet (EIP-1193) ----------------------------------------------------------------------

const wallet = { address: null };

async function connect() {
  const eth = window.ethereum;
  if (!eth) { alertBox('No wallet', 'No browser wallet was found (window.ethereum). Install one, or read any account by putting its address in the URL: #/account/0x…'); return; }
  const [a] = await eth.request({ method: 'eth_requestAccounts' });
  const want = '0x' + chain.chainId.toString(16);
  const have = await eth.request({ method: 'eth_chainId' });
  if (have !== want) {
    try {
      await eth.request({ method: 'wallet_addEthereumChain', params: [{ chainId: want, chainName: `Cairn ${chain.chainId}`, rpcUrls: [location.origin + '/rpc'], nativeCurrency: { name: 'ETH', symbol: 'ETH', decimals: 18 } }] });
    } catch (_) { /* the wallet signs typed data for any chain; the domain carries the chain id */ }
  }
  wallet.address = a.toLowerCase();
  $('#connect').textContent = short(wallet.address);
  if (!location.hash.startsWith('#/account')) location.hash = '#/account'; else render();
}

function alertBox(title, html) {
  const d = $('#dialog');
  d.innerHTML = `<div class="box"><h2>${esc(title)}</h2><div>${html}</div><p><button type="button" id="close">Close</button></p></div>`;
  d.hidden = false;
  $('#close', d).onclick = () => { d.hidden = true; render(true); };
}

function errorText(e) {
  return `<p class="error" id="error-words">${esc(words(e.name))}</p><p>${esc(e.message)}</p>`;
}

function positionDiff(before, after) {
  const rows = [];
  const bal = (p) => Object.fromEntries((p?.balances || []).map((b) => [b.symbol, b.amount]));
  const pos = (p) => Object.fromEntries((p?.staker?.positions || []).map((x) => [strategyName(x.strategy), x.withdrawable_tokens]));
  for (const [kind, f] of [['balance', bal], ['position', pos]]) {
    const b = f(before), a = f(after);
    for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
      if ((b[k] ?? '0') !== (a[k] ?? '0')) rows.push(`<tr><td>${kind}</td><td>${esc(k)}</td><td class="num">${tokens(b[k] ?? 0)}</td><td class="num">${tokens(a[k] ?? 0)}</td></tr>`);
    }
  }
  const w = (p) => (p?.staker?.queued_withdrawals || []).length;
  if (w(before) !== w(after)) rows.push(`<tr><td>withdrawals</td><td>queued</td><td class="num">${w(before)}</td><td class="num">${w(after)}</td></tr>`);
  if (before?.staker?.delegated_to !== after?.staker?.delegated_to) rows.push(`<tr><td>delegation</td><td>operator</td><td>${esc(short(before?.staker?.delegated_to))}</td><td>${esc(short(after?.staker?.delegated_to))}</td></tr>`);
  return rows.length ? `<table><tr><th>what</th><th></th><th class="num">before</th><th class="num">after</th></tr>${rows.join('')}</table>` : '<p class="muted">No change to your balances or positions.</p>';
}

/** Preview → sign (EIP-712 in the wallet) → submit → receipt, in one dialog. */
async function act(label, action, body) {
  const d = $('#dialog');
  d.hidden = false;
  d.innerHTML = `<div class="box"><h2>${esc(label)}</h2><div id="step">Previewing…</div><p><button type="button" class="secondary" id="cancel">Close</button></p></div>`;
  $('#cancel', d).onclick = () => { d.hidden = true; render(true); };
  const step = $('#step', d);
  try {
    if (!wallet.address) throw new ApiError('NoWallet', 'Connect a wallet first: the transaction is signed by it.');
    const text = JSON.stringify(body);
    const p = await post('/v1/tx/simulate', { from: wallet.address, action, body: text });
    if (!p.ok) { step.innerHTML = `<h3>Preview at block ${p.at.height}: it would be refused</h3>${errorText(new ApiError(p.error, p.message))}`; return; }
    step.innerHTML = `<h3>Preview at block ${p.at.height}</h3><p>Events: ${p.events.map((e) => `<code>${esc(e.event)}</code>`).join(', ') || 'none'}</p>${positionDiff(p.before, p.after)}<p><button type="button" id="sign">Sign and submit</button></p>`;
    await new Promise((ok) => { $('#sign', step).onclick = ok; });
    step.innerHTML = 'Waiting for the wallet’s signature…';
    chain.eip712 ||= await api('/v1/eip712');
    const acct = await api(`/v1/accounts/${wallet.address}`);
    const health = await api('/health');
    const message = { action, body: text, nonce: acct.pending_nonce, expiry: health.now + 600 };
    const typed = { ...chain.eip712, message };
    const signature = await window.ethereum.request({ method: 'eth_signTypedData_v4', params: [wallet.address, JSON.stringify(typed)] });
    step.innerHTML = 'Submitted; waiting for the block…';
    const tx = { from: wallet.address, chain_id: chain.chainId, action, body: text, nonce: message.nonce, expiry: message.expiry, signature };
    const answer = await post('/v1/tx?wait=true', tx);
    const st = answer.status;
    if (st.status === 'committed' && st.receipt.ok) {
      step.innerHTML = `<p class="ok" id="receipt-ok">Committed in block ${st.receipt.height}.</p><p>Events: ${st.receipt.events.map((e) => `<code>${esc(e.event)}</code>`).join(', ')}</p><p class="mono">${esc(answer.hash)}</p>`;
    } else if (st.status === 'committed') {
      step.innerHTML = `<p>Committed in block ${st.receipt.height}, but refused:</p>${errorText(new ApiError(st.receipt.error.name, st.receipt.error.message))}`;
    } else {
      step.innerHTML = `<p>Status: ${esc(st.status)} ${esc(st.reason || '')}</p><p class="mono">${esc(answer.hash)}</p>`;
    }
    render(true);
  } catch (e) {
    step.innerHTML = errorText(e);
  }
}

// ---- pages ----------------------------------------------------------------------------------

/** A table; a header ending in a space marks a numeric, right-aligned column. */
function table(head, rows, empty = 'None.') {
  if (!rows.length) return `<p class="muted">${empty}</p>`;
  const numeric = head.map((h) => h.endsWith(' '));
  const cls = (i) => (numeric[i] ? ' class="num"' : '');
  return `<table><tr>${head.map((h, i) => `<th${cls(i)}>${esc(h.trim())}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`).join('')}</table>`;
}
const num = (v) => `<span class="num">${v}</span>`;
const card = (label, value) => `<div class="card"><div class="label">${esc(label)}</div><div class="value">${value}</div></div>`;

async function networkPage(el) {
  const [summary, ops, svcs, slashes] = await Promise.all([loadSymbols(), api('/v1/operators'), api('/v1/services'), api('/v1/slashes')]);
  const tvl = summary.strategies.reduce((a, s) => a + BigInt(s.balance), 0n);
  const stakers = new Set(summary.positions.map((p) => p.staker)).size;
  const tvlSeries = sample('tvl', Number(tvl / 10n ** 14n) / 1e4);
  const queueSeries = sample('queue', summary.withdrawals.length);
  const unique = {};
  for (const o of ops) for (const a of o.allocations) {
    const k = `${a.service}/${a.set_id}`;
    unique[k] = (unique[k] || 0n) + BigInt(a.allocated_stake);
  }
  el.innerHTML = `<h1>Network</h1>
  <div class="cards">${card('Total value locked', tokens(tvl, 2))}${card('Operators', ops.length)}${card('Services', svcs.length)}${card('Stakers', stakers)}${card('Open slash requests', slashes.open_requests.length)}${card('Queued withdrawals', summary.withdrawals.length)}</div>
  <h2>TVL by strategy</h2>${table(['strategy', 'asset', 'tokens ', 'shares '], summary.strategies.map((s) => [esc(`#${s.id}`), esc(chain.assets[s.asset]), num(tokens(s.balance)), num(tokens(s.total_shares))]))}
  <p class="muted">Totals add the tokens one to one (ETH and its liquid staking tokens).</p>
  <div class="plot" id="tvl-plot"></div>
  <div class="plot" id="queue-plot"></div>
  <h2>Operators</h2>${table(['operator', 'stake by strategy', 'allocated ', 'sets '], ops.map((o) => [link('operator', o.operator), o.strategies.filter((s) => s.shares !== '0').map((s) => `${esc(chain.strategies[s.strategy])} ${tokens(s.shares, 2)}`).join('<br>') || '—', num(tokens(o.allocations.reduce((a, x) => a + BigInt(x.allocated_stake), 0n), 2)), num(o.operator_sets.length || new Set(o.allocations.map((a) => a.service + a.set_id)).size)]))}
  <h2>Services and operator sets</h2>${table(['service', 'set', 'strategies', 'allocated (unique) stake ', 'corruption threshold', 'veto'], svcs.flatMap((s) => s.operator_sets.map((o) => [link('service', s.service), num(o.set_id), esc(o.set.strategies.map((x) => chain.strategies[x]).join(', ')), num(tokens(unique[`${s.service}/${o.set_id}`] || 0n, 2)), o.risk ? `${o.risk.threshold_num}/${o.risk.threshold_den} of stake, prize ${tokens(o.risk.prize, 0)}` : '—', o.set.veto ? esc(JSON.stringify(o.set.veto)) : 'none'])))}
  <h2>Open slash requests</h2>${table(['request', 'veto deadline'], slashes.open_requests.map((r) => [`<code>${esc(JSON.stringify(r))}</code>`, esc(r.veto_deadline ?? r.executable_at ?? r.deadline ?? '—')]), 'No open slash requests.')}
  <h2>Events as they happen</h2><div class="events">${table(['block', 'event', 'fields'], chain.events.slice(0, 40).map((x) => [num(x.height), `<code>${esc(x.ev.event)}</code>`, `<span class="muted mono">${esc(JSON.stringify(x.ev).slice(0, 160))}</span>`]), 'Waiting for the next block…')}</div>`;
  plot($('#tvl-plot', el), 'TVL (tokens), since this page opened', ['TVL'], tvlSeries, 'tokens');
  plot($('#queue-plot', el), 'Withdrawal queue depth, since this page opened', ['queued withdrawals'], queueSeries, 'withdrawals');
}

/** A rate source (`base_staking`, `{"service": {"service": "0x…"}}`, …) in words. */
function sourceName(src) {
  if (typeof src === 'string') return src.replace(/_/g, ' ');
  const [kind, v] = Object.entries(src || {})[0] || ['?', {}];
  const who = v?.service || v?.set?.service || '';
  return `${kind.replace(/_/g, ' ')}${who ? ' ' + short(who) : ''}`;
}

/** Horizontal bars of APR by source (basis points), labelled. */
function aprBars(w) {
  const parts = (w.by_source || []).map((s) => (Array.isArray(s) ? { name: sourceName(s[0]), bps: Number(s[1]) } : { name: sourceName(s.source), bps: s.apr_bps ?? 0 }));
  if (!parts.length) return '';
  const max = Math.max(1, ...parts.map((p) => Math.abs(p.bps)));
  return `<div class="bars">${parts.map((p) => `<div class="bar"><span class="bar-label">${esc(p.name)}</span><span class="bar-fill ${p.bps < 0 ? 'neg' : ''}" style="width:${(Math.abs(p.bps) / max) * 60}%"></span><span>${(p.bps / 100).toFixed(2)}%</span></div>`).join('')}</div>`;
}

async function operatorPage(el, addr) {
  await loadSymbols();
  const [o, alloc, slashes] = await Promise.all([api(`/v1/operators/${addr}`), api(`/v1/allocations/${addr}`), api('/v1/slashes')]);
  const total = o.strategies.reduce((a, s) => a + BigInt(s.shares), 0n);
  const series = sample(`op-${addr}`, Number(total / 10n ** 14n) / 1e4);
  const allocations = Array.isArray(alloc) ? alloc : alloc.allocations || [];
  // The operator's share of each service's rewards (basis points), for the services it allocates to.
  const services = [...new Set(allocations.map((a) => a.service))];
  const splits = await Promise.all(services.map((service) => post('/v1/query', { operator_split: { operator: addr, service } })));
  el.innerHTML = `<h1>Operator <span class="mono">${esc(addr)}</span></h1>
  <p class="muted">${esc(o.details?.metadata_uri || '')} · allocation delay ${esc(o.details?.allocation_delay?.delay ?? '—')} blocks</p>
  <h2>Stake by strategy</h2>${table(['strategy', 'delegated shares ', 'max magnitude ', 'allocated ', 'free '], o.strategies.map((s) => [esc(strategyName(s.strategy)), num(tokens(s.shares)), num(pct(s.max_magnitude)), num(pct(s.encumbered_magnitude)), num(pct(BigInt(s.max_magnitude) - BigInt(s.encumbered_magnitude)))]))}
  <div class="plot" id="op-plot"></div>
  <h2>Allocations and pending changes</h2>${table(['service', 'set', 'strategy', 'magnitude ', 'stake ', 'pending change', 'takes effect'], allocations.map((a) => [link('service', a.service ?? a.set?.service), num(a.set_id ?? a.set?.id), esc(strategyName(a.strategy)), num(pct(a.magnitude)), num(tokens(a.allocated_stake ?? a.slashable_stake ?? 0)), a.pending ? num(pct(a.pending)) : '—', a.pending ? `block ${a.effect_block} (${esc(eta(a.effect_block))})` : '—']))}
  <h2>Reward splits</h2><p class="muted">The operator's cut of what each service pays its stakers; the rest goes to the stakers delegated to it.</p>${table(['service', 'operator’s share '], services.map((svc, i) => [link('service', svc), num(`${(Number(splits[i]) / 100).toFixed(2)}%`)]), 'It allocates to no service.')}
  <h2>Slashes</h2>${table(['request'], slashes.open_requests.filter((r) => JSON.stringify(r).toLowerCase().includes(addr.toLowerCase())).map((r) => [`<code>${esc(JSON.stringify(r))}</code>`]), 'No open slash request against this operator.')}`;
  plot($('#op-plot', el), 'Delegated shares, since this page opened', ['shares'], series, 'shares');
}

async function servicePage(el, addr) {
  await loadSymbols();
  const [svcs, ops] = await Promise.all([api('/v1/services'), api('/v1/operators')]);
  const s = svcs.find((x) => x.service.toLowerCase() === addr.toLowerCase());
  if (!s) { el.innerHTML = `<h1>Service</h1><p class="error">${esc(addr)} is not a registered service.</p>`; return; }
  const rows = [];
  for (const o of ops) for (const a of o.allocations) if (a.service.toLowerCase() === addr.toLowerCase()) rows.push([link('operator', o.operator), num(a.set_id), esc(strategyName(a.strategy)), num(pct(a.magnitude)), num(tokens(a.allocated_stake)), a.pending ? `${pct(a.pending)} at block ${a.effect_block}` : '—']);
  el.innerHTML = `<h1>Service <span class="mono">${esc(addr)}</span></h1><p class="muted">${esc(s.details?.metadata_uri || '')}</p>
  <h2>Operator sets</h2>${table(['set', 'strategies', 'slasher', 'corruption threshold', 'slashes', 'veto'], s.operator_sets.map((o) => [num(o.set_id), esc(o.set.strategies.map(strategyName).join(', ')), link('operator', o.set.slasher?.slasher), o.risk ? `${o.risk.threshold_num}/${o.risk.threshold_den}, prize ${tokens(o.risk.prize, 0)}` : '—', num(o.set.slash_count), o.set.veto ? esc(JSON.stringify(o.set.veto)) : 'none']))}
  <h2>Allocated stake</h2>${table(['operator', 'set', 'strategy', 'magnitude ', 'stake ', 'pending'], rows)}`;
}

function addressForm(el) {
  el.innerHTML = `<h1>My account</h1><p>Connect a wallet, or read any account: <form class="action" id="addr"><label>address<input name="a" size="44" placeholder="0x…"></label><button>Show</button></form></p>`;
  $('#addr', el).onsubmit = (e) => { e.preventDefault(); location.hash = `#/account/${e.target.a.value.trim()}`; };
}

async function accountPage(el, given) {
  const a = (given || wallet.address || '').toLowerCase();
  if (!a) return addressForm(el);
  const summary = await loadSymbols();
  const [acct, staker, rewards, ops, vaults] = await Promise.all([api(`/v1/accounts/${a}`), api(`/v1/stakers/${a}`), api(`/v1/rewards/${a}`).catch(() => null), api('/v1/operators'), api('/v1/vaults')]);
  // The receipt-token balance (the position view needs accepted prices, which a quiet devnet may lack).
  const vaultTokens = vaults.length ? await post('/v1/query', { vault_balance: { vault: vaults[0].vault, account: a } }) : null;
  const exiting = staker.queued_withdrawals.filter((w) => w.completable_after_block > chain.head);
  const ready = staker.queued_withdrawals.filter((w) => w.completable_after_block <= chain.head);
  const own = wallet.address === a;
  const waiting = acct.pending_nonce - acct.nonce;
  const wRow = (w) => [num(w.nonce), esc(w.strategies.map(strategyName).join(', ')), num(w.expected_shares.map((x) => tokens(x)).join(', ')), `block ${w.completable_after_block}`, esc(eta(w.completable_after_block)), own && w.completable_after_block <= chain.head ? `<button type="button" data-complete="${w.nonce}">Complete</button>` : ''];
  const claimable = (rewards?.tokens || []).filter((t) => t.claimable && t.claimable !== '0');
  el.innerHTML = `<h1>Account <span class="mono">${esc(a)}</span></h1>
  <div class="cards">${card('Active (withdrawable tokens)', tokens(staker.positions.reduce((x, p) => x + BigInt(p.withdrawable_tokens), 0n)))}${card('Entering (transactions waiting)', waiting)}${card('Exiting (withdrawals in their delay)', exiting.length)}${card('Withdrawable now', ready.length)}${card('Claimable reward tokens', claimable.length)}</div>
  <p class="muted">Delegated to ${staker.delegated_to ? link('operator', staker.delegated_to) : 'no one'}.</p>
  <h2>Balances</h2>${table(['asset', 'amount '], acct.balances.map((b) => [esc(b.symbol), num(tokens(b.amount))]))}
  <h2>Positions (active)</h2>${table(['strategy', 'deposit shares ', 'withdrawable shares ', 'withdrawable tokens '], staker.positions.map((p) => [esc(strategyName(p.strategy)), num(tokens(p.deposit_shares)), num(tokens(p.withdrawable_shares)), num(tokens(p.withdrawable_tokens))]), 'No positions.')}
  <h2>Withdrawals</h2><p class="muted">Each matures at a fixed block, set when it was queued; the time is an estimate from the recent block rate and never restarts.</p>${table(['nonce', 'strategies', 'expected ', 'matures at', 'when', ''], staker.queued_withdrawals.map(wRow), 'No queued withdrawals.')}
  <h2>Rewards</h2>${rewards?.reason ? `<p class="muted">${esc(rewards.reason)}</p>` : ''}${table(['token', 'earned through the root ', 'claimed ', 'claimable '], (rewards?.tokens || []).map((t) => [esc(chain.assets[t.asset] ?? t.symbol ?? t.token), tokens(t.cumulative_earnings ?? 0), tokens(t.claimed ?? 0), tokens(t.claimable ?? 0)]), 'Nothing earned against the active root yet.')}
  ${own && claimable.length ? '<button type="button" id="claim">Claim all</button>' : ''}
  ${vaultTokens !== null ? `<h2>Vault</h2><p>${tokens(vaultTokens)} ${esc(vaults[0].symbol)} · <a href="#/vault">the vault</a></p>` : ''}
  ${own ? actionForms(summary, ops, vaults) : '<p class="muted">Connect this account’s wallet to act.</p>'}`;
  if (!own) return;
  el.querySelectorAll('[data-complete]').forEach((b) => { b.onclick = () => act('Complete withdrawal', 'complete_withdrawal', { nonce: Number(b.dataset.complete), receive_as_tokens: true }); });
  const claim = $('#claim', el);
  if (claim) claim.onclick = async () => { try { const p = await api(`/v1/rewards/${a}/proof`); act('Claim rewards', p.action, p.body); } catch (e) { alertBox('Cannot claim', errorText(e)); } };
  const on = (id, f) => { const form = $(id, el); if (form) form.onsubmit = (e) => { e.preventDefault(); try { f(new FormData(form)); } catch (err) { alertBox('Not sent', errorText(err)); } }; };
  on('#f-deposit', (f) => act('Deposit', 'deposit', { strategy: Number(f.get('strategy')), amount: toWei(f.get('amount')) }));
  on('#f-delegate', (f) => act('Delegate', 'delegate_to', { operator: f.get('operator') }));
  on('#f-undelegate', () => act('Undelegate', 'undelegate', { staker: a }));
  on('#f-queue', (f) => act('Queue a withdrawal', 'queue_withdrawals', { withdrawals: [{ strategies: [Number(f.get('strategy'))], deposit_shares: [toWei(f.get('shares'))] }] }));
  on('#f-vault-deposit', (f) => act('Vault deposit', 'vault_deposit', { vault: vaults[0].vault, asset: Number(f.get('asset')), amount: toWei(f.get('amount')) }));
  on('#f-vault-redeem', (f) => act('Vault redemption', 'vault_redeem', { vault: vaults[0].vault, shares: toWei(f.get('shares')), asset: Number(f.get('asset')) }));
}

function actionForms(summary, ops, vaults) {
  const strategies = summary.strategies.filter((s) => s.id > 0 || chain.assets[s.asset] !== 'ETH').map((s) => `<option value="${s.id}">${esc(strategyName(s.id))}</option>`).join('');
  const operators = ops.map((o) => `<option value="${esc(o.operator)}">${esc(short(o.operator))} ${esc(o.details?.metadata_uri || '')}</option>`).join('');
  const assets = Object.entries(chain.assets).filter(([, sym]) => sym !== 'ETH').map(([id, sym]) => `<option value="${id}">${esc(sym)}</option>`).join('');
  return `<h2>Act</h2><p class="muted">Each action is previewed (its events and your position change) before the wallet signs it.</p>
  <form class="action" id="f-deposit"><label>strategy<select name="strategy">${strategies}</select></label><label>amount (tokens)<input name="amount" value="1"></label><button>Deposit</button></form>
  <form class="action" id="f-delegate"><label>operator<select name="operator">${operators}</select></label><button>Delegate</button></form>
  <form class="action" id="f-undelegate"><button>Undelegate (queues every position)</button></form>
  <form class="action" id="f-queue"><label>strategy<select name="strategy">${strategies}</select></label><label>deposit shares<input name="shares" value="1"></label><button>Queue withdrawal</button></form>
  ${vaults.length ? `<form class="action" id="f-vault-deposit"><label>asset<select name="asset">${assets}</select></label><label>amount<input name="amount" value="1"></label><button>Deposit into the vault</button></form>
  <form class="action" id="f-vault-redeem"><label>${esc(vaults[0].symbol)}<input name="shares" value="0.5"></label><label>paid in<select name="asset">${assets}</select></label><button>Redeem</button></form>` : ''}`;
}

async function vaultPage(el, id) {
  await loadSymbols();
  const vaults = await api('/v1/vaults');
  if (!vaults.length) { el.innerHTML = '<h1>Vault</h1><p class="muted">No vault on this chain yet.</p>'; return; }
  const v = id ?? vaults[0].vault;
  const [detail, rates, holdings, policy] = await Promise.all([api(`/v1/vaults/${v}`), api(`/v1/vaults/${v}/rates?limit=200`), api(`/v1/vaults/${v}/holdings`), api(`/v1/vaults/${v}/policy`)]);
  const tickets = wallet.address ? await api(`/v1/vaults/${v}/tickets?owner=${wallet.address}`).catch(() => []) : [];
  const sym = vaults.find((x) => x.vault === v)?.symbol || 'tokens';
  const apr = (w, label) => `<div class="card"><div class="label">APR over ${label} (${new Date(w.from_time * 1000).toISOString().slice(0, 10)} → ${new Date(w.to_time * 1000).toISOString().slice(0, 10)})</div><div class="value">${w.apr_bps === null ? 'not enough history' : (w.apr_bps / 100).toFixed(2) + '%'}</div><div class="muted">${aprBars(w)}</div></div>`;
  const st = rates.settlements || [];
  const rateSeries = [st.map((s) => s.time), st.map((s) => Number(BigInt(s.rate) * 1000000n / WAD) / 1e6)];
  const places = holdings.places || [];
  const tlist = Array.isArray(tickets) ? tickets : tickets.tickets || [];
  el.innerHTML = `<h1>Vault ${esc(sym)} (#${v})</h1>
  <div class="cards">${card('Rate (assets per token)', tokens(detail.current_rate ?? vaults[0].current_rate, 6))}${card('Total assets', tokens(detail.total_assets ?? vaults[0].total_assets, 2))}${card('Supply', tokens(detail.supply ?? vaults[0].supply, 2))}${card('Slash reserve', tokens(detail.reserve ?? vaults[0].reserve, 4))}</div>
  <h2>Rate over time</h2><div class="plot" id="rate-plot"></div>
  <div class="cards">${apr(rates.apr_7d, '7 days')}${apr(rates.apr_30d, '30 days')}</div>
  <h2>Attribution of the last settlements</h2>${table(['settlement', 'block', 'rate ', 'parts'], st.slice(-10).reverse().map((s) => [num(s.number), num(s.block), num(tokens(s.rate, 6)), esc((s.attribution || []).map((p) => (Array.isArray(p) ? `${sourceName(p[0])} ${tokens(BigInt(Math.trunc(Number(p[1]?.value ?? 0))))}` : sourceName(p.source))).join(' · ') || '—')]))}
  <h2>Holdings per place</h2>${table(['place', 'weight', 'holdings'], places.map((p) => [p.operator ? link('operator', p.operator) : esc(p.place ?? p.name ?? ''), esc(p.weight_bps !== undefined ? (p.weight_bps / 100).toFixed(2) + '%' : p.weight ?? ''), `<span class="muted mono">${esc(JSON.stringify(p.holdings ?? p.assets ?? '').slice(0, 140))}</span>`]), 'Everything is in the buffer.')}
  <h2>Policy</h2><p>Minimum buffer ${esc((policy.policy?.min_buffer_bps ?? 0) / 100)}% · worst single-service loss ${policy.exposure?.worst_target ? `<code>${esc(JSON.stringify(policy.exposure.worst_target))}</code>` : 'none (no exposure yet)'}</p>
  ${table(['service', 'target', 'held'], (policy.exposure?.by_service || []).map((s) => [link('service', s.service), esc(s.target_bps !== undefined ? (s.target_bps / 100) + '%' : JSON.stringify(s.target ?? '')), esc(s.held_bps !== undefined ? (s.held_bps / 100) + '%' : JSON.stringify(s.held ?? ''))]), 'No service exposure.')}
  <h2>My tickets</h2>${wallet.address ? table(['ticket', 'ETA'], tlist.map((t) => [`<code>${esc(JSON.stringify(t).slice(0, 120))}</code>`, esc(t.eta_block ? `block ${t.eta_block} (${eta(t.eta_block)})` : '—')]), 'No tickets.') : '<p class="muted">Connect a wallet to see your tickets.</p>'}`;
  plot($('#rate-plot', el), 'Rate at each settlement', ['rate'], rateSeries, 'assets per token');
}

async function riskPage(el) {
  const { block, psi, report: r } = await api('/v1/risk');
  const p = r.pooled;
  const w = p.witness || p.closest;
  const ex = (x) => (x ? esc(x.approx) : '—');
  const range = (i) => (i.exact || (i.lower && i.upper && i.lower.exact === i.upper.exact) ? ex(i.lower) : `${ex(i.lower)} … ${ex(i.upper)}`);
  const loss = r.losses[0] || {};
  const pct = (x) => (x ? `${(100 * Number(x.approx)).toFixed(2)}%` : '—');
  const lossText = loss.error ? esc(loss.error) : `${pct(loss.result?.loss)} of all stake (attack part ${pct(loss.result?.attack_loss)})`;
  const attack = w ? `<p>${p.witness ? 'Attack found' : 'Closest call'}: operators ${w.validators.map((v) => link('operator', v)).join(', ') || '—'} corrupting ${w.services.map((x) => `<code>${esc(short(x.split('/')[0]))}/${esc(x.split('/')[1] ?? '')}</code>`).join(', ') || '—'}: prize ${tokens(w.prize.split('.')[0] || 0, 2)}, cost ${tokens(w.cost.split('.')[0] || 0, 2)}, profit <span class="${w.profitable ? 'bad' : 'ok'}">${esc(w.profit.startsWith('-') ? '−' + tokens(w.profit.slice(1).split('.')[0], 2) : tokens(w.profit.split('.')[0], 2))}</span> (tokens).</p>` : '<p class="muted">No coalition can attack (no operator secures a declared set).</p>';
  const elastic = r.elastic.skipped ? `not run: ${esc(r.elastic.skipped)}` : `${esc(r.elastic.verdict)} at budget ${esc(r.elastic.budget)}`;
  el.innerHTML = `<h1>Risk</h1><p class="muted">The restaking graph at block ${block}: ${r.size.validators} operators (stake in tokens) and ${r.size.services} operator sets with a declared prize and corruption threshold. Pooled model decided by ${esc(p.method)}: ${esc(p.rests_on)}.</p>
  <div class="cards">${card('Verdict', `<span class="${r.verdict === 'secure' ? 'ok' : 'bad'}" id="verdict">${esc(r.verdict)}</span>`)}${card('γ* (slack)', range(p.gamma))}${card(`Worst loss after a ψ = ${psi} shock`, lossText)}${card('EigenLayer condition (every ρ ≤ 1)', r.leverage.condition_holds ? 'holds' : 'fails')}${card('Elastic model', elastic)}</div>
  <h2>Evidence</h2>${attack}
  <h2>Leverage per operator</h2>${table(['operator', 'ρ ', 'over-leveraged'], r.leverage.validators.map((v) => [link('operator', v.validator), num(ex(v.rho)), v.over_leveraged ? '<span class="bad">yes</span>' : 'no']))}
  ${r.leverage.unsecured_services.length ? `<p class="bad">Sets no operator secures: ${esc(r.leverage.unsecured_services.join(', '))}</p>` : ''}
  <h2>Concentration</h2>${table(['scope', 'HHI ', 'holders to exceed 1/3 ', 'holders to exceed 1/2 '], r.concentration.map((c) => [esc(c.scope.length > 20 ? short(c.scope) : c.scope), num(ex(c.hhi)), num(c.nakamoto_one_third), num(c.nakamoto_one_half)]))}`;
}

// ---- routing --------------------------------------------------------------------------------

let rendering = false;
async function render(quiet) {
  if (rendering) return;
  rendering = true;
  const [, page = '', arg] = location.hash.split('/');
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.dataset.page === (page || 'network')));
  const el = $('#page');
  try {
    await refreshChain();
    if (!quiet) el.innerHTML = '<p class="muted">Loading…</p>';
    const draw = { '': networkPage, network: networkPage, operator: operatorPage, service: servicePage, account: accountPage, vault: vaultPage, risk: riskPage }[page] || networkPage;
    const dialogOpen = !$('#dialog').hidden;
    // A live refresh does not redraw under an open dialog's form.
    if (!(quiet && dialogOpen)) await draw(el, arg && decodeURIComponent(arg));
  } catch (e) {
    el.innerHTML = `<h1>Something went wrong</h1>${errorText(e)}`;
    console.warn(e);
  } finally {
    rendering = false;
  }
}

window.addEventListener('hashchange', () => render());
$('#connect').onclick = () => connect().catch((e) => alertBox('Wallet', errorText(e)));
render().then(liveUpdates);
