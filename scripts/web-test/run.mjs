// The web app in a real browser (Debian's Chromium driven by playwright-core), against a devnet
// the Rust test started: every page renders without console errors, the live views move with
// the chain, and a wallet (an injected EIP-1193 provider that signs EIP-712 with a devnet key)
// deposits, queues and completes a withdrawal, is refused a delegation in words, and claims rewards through
// the UI. Screenshots go to $OUT. Exit status 0 when every check passed.
import { chromium } from 'playwright-core';
import { signTypedData, SignTypedDataVersion } from '@metamask/eth-sig-util';
import { mkdirSync } from 'node:fs';

const { BASE, OUT, KEY, ADDRESS, CHROMIUM } = process.env;
mkdirSync(OUT, { recursive: true });
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); };

const browser = await chromium.launch({ executablePath: CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
page.setDefaultTimeout(30_000);
const errors = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`); });
page.on('pageerror', (e) => errors.push(`${page.url()}: ${e}`));
await page.exposeFunction('cairnTestSign', (json) =>
  signTypedData({ privateKey: Buffer.from(KEY.replace(/^0x/, ''), 'hex'), data: JSON.parse(json), version: SignTypedDataVersion.V4 }));
await page.addInitScript(({ address }) => {
  window.ethereum = {
    async request({ method, params }) {
      switch (method) {
        case 'eth_requestAccounts': case 'eth_accounts': return [address];
        case 'eth_chainId': return '0x7a69';
        case 'wallet_addEthereumChain': case 'wallet_switchEthereumChain': return null;
        case 'eth_signTypedData_v4': return window.cairnTestSign(params[1]);
        default: throw Object.assign(new Error(`the test wallet does not answer ${method}`), { code: 4200 });
      }
    },
  };
}, { address: ADDRESS });

const shot = (name) => page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
const text = (sel) => page.locator(sel).innerText();

async function sign(formSelector) {
  await page.locator(`${formSelector} button`).click();
  await page.locator('#sign').click();
  await page.locator('#receipt-ok').waitFor();
}
const closeDialog = () => page.locator('#cancel').click();

try {
  // Network, live.
  await page.goto(`${BASE}/#/`);
  await page.locator('h1', { hasText: 'Network' }).waitFor();
  await page.locator('text=TVL by strategy').waitFor();
  await shot('network');
  const head = await text('#head');
  await page.waitForFunction((h) => document.querySelector('#head').textContent !== h, head, { timeout: 20_000 });
  check(true, 'the head moves without a reload');

  // The wallet, and the account page.
  await page.locator('#connect').click();
  await page.locator('h1', { hasText: 'Account' }).waitFor();
  await page.locator('#f-deposit').waitFor();
  const positions = async () => page.locator('h2:has-text("Positions") + table').innerText();
  const before = await positions();
  await page.locator('#f-deposit input[name=amount]').fill('2');
  await page.locator('#f-deposit button').click();
  await page.locator('#sign').waitFor();
  check((await text('#step')).includes('deposit'), 'the preview names the deposit event');
  await shot('preview');
  await page.locator('#sign').click();
  await page.locator('#receipt-ok').waitFor();
  await closeDialog();
  await page.waitForFunction((b) => {
    return [...document.querySelectorAll('h2')].some((h) => h.textContent.startsWith('Positions') && h.nextElementSibling?.innerText !== b);
  }, before);
  check(true, 'the deposit shows in the positions');

  await page.locator('#f-queue input[name=shares]').fill('1');
  await sign('#f-queue');
  await closeDialog();
  await page.locator('text=matures at').waitFor();
  await page.locator('td', { hasText: /^block \d+$/ }).first().waitFor();
  check(true, 'the queued withdrawal shows its maturity block');

  // The delay passes (the devnet mines its 50 blocks at once); the matured withdrawal is completed.
  const mined = await fetch(`${BASE}/v1/dev/mine`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ blocks: 50 }) });
  check(mined.ok, 'the devnet mines the withdrawal delay');
  await page.locator('[data-complete]').first().click();
  await page.locator('#sign').click();
  await page.locator('#receipt-ok').waitFor();
  await closeDialog();
  await page.locator('text=No queued withdrawals.').waitFor();
  check(true, 'the matured withdrawal is completed through the UI');

  await page.locator('#f-delegate button').click();
  await page.locator('#error-words').waitFor();
  const refused = await text('#error-words');
  check(/^[A-Z][a-z]+( [a-z]+)+$/.test(refused), `a refusal is said in words: "${refused}"`);
  await shot('refused');
  await closeDialog();

  await page.locator('#claim').click();
  await page.locator('#sign').click();
  await page.locator('#receipt-ok').waitFor();
  check(true, 'rewards claimed through the UI');
  await closeDialog();
  await shot('account');

  // Back on the network page, the events of this session's transactions are listed.
  await page.goto(`${BASE}/#/`);
  await page.locator('.events code', { hasText: 'deposit' }).first().waitFor();
  check(true, 'the live event list shows the deposit');

  // Every other page.
  const ops = await (await fetch(`${BASE}/v1/operators`)).json();
  const svcs = await (await fetch(`${BASE}/v1/services`)).json();
  for (const [name, route, heading] of [['vault', '#/vault', 'Vault'], ['risk', '#/risk', 'Risk'], ['operator', `#/operator/${ops[0].operator}`, 'Operator'], ['service', `#/service/${svcs[0].service}`, 'Service']]) {
    await page.goto(`${BASE}/${route}`);
    await page.locator('h1', { hasText: heading }).waitFor();
    await page.waitForTimeout(300);
    await shot(name);
    check(!(await page.locator('h1', { hasText: 'Something went wrong' }).count()), `the ${name} page renders`);
  }
} catch (e) {
  failures.push(String(e));
  await shot('failure').catch(() => {});
}
check(errors.length === 0, `no console errors${errors.length ? ': ' + errors.join(' | ') : ''}`);
await browser.close();
if (failures.length) { console.error(`${failures.length} failed:\n${failures.join('\n')}`); process.exit(1); }
