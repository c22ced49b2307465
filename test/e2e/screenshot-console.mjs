// Takes docs/console.png (activations and a sequence's waterfall) and
// docs/console-charts.png (one action's charts) of the console in headless
// Chromium, on a gateway with a few actions, a sequence and a trigger run
// a number of times. Not a test; run by hand after a visible change:
//
//   make build && cd test/e2e && KWHISK_BIN=$PWD/../../bin/kwhisk node screenshot-console.mjs

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, login } from './lib/browser.mjs';
import { GUEST_AUTH, createAction, startGateway, waitFor } from './lib/gateway.mjs';

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs');

const gw = await startGateway();
const browser = await launchBrowser({ viewport: { width: 1500, height: 860 } });
try {
  const ow = gw.client();
  await createAction(ow, 'split', 'split.js');
  await createAction(ow, 'sort', 'sort.js');
  await createAction(ow, 'head', 'head.js', { params: { num: 2 } });
  await createAction(ow, 'hello', 'hello.js');
  await createAction(ow, 'fail', 'error.js');
  await ow.actions.create({ name: 'lines', sequence: ['/_/split', '/_/sort', '/_/head'] });
  await ow.triggers.create({ name: 'tick' });
  await ow.rules.create({ name: 'tick-hello', trigger: 'tick', action: 'hello' });
  for (let i = 0; i < 12; i++) {
    await ow.actions.invoke({ name: 'hello', blocking: true, params: { name: `visitor ${i}` } });
    if (i % 4 === 0) await gw.request('POST', '/api/v1/namespaces/_/actions/fail?blocking=true', { body: {} });
  }
  await ow.triggers.invoke({ name: 'tick', params: { name: 'trigger' } });
  const seq = await ow.actions.invoke({ name: 'lines', blocking: true, params: { payload: 'pear\napple\nfig\nplum' } });

  const { page } = browser;
  await login(page, gw.apihost, GUEST_AUTH);
  await page.goto(`${gw.apihost}/console/#/activations/${seq.activationId}`);
  const rows = page.locator('[data-testid="waterfall-row"]');
  await waitFor(async () => (await rows.count()) === 4 || undefined, { what: 'the waterfall' });
  await page.screenshot({ path: path.join(docs, 'console.png') });

  await page.getByTestId('nav-charts').click();
  await page.getByTestId('chart-window').selectOption({ label: '15 minutes' });
  await page.locator('[data-testid="action-stat"][data-name="hello"]').click();
  await page.locator('[data-testid="charts"][data-action="hello"]').waitFor();
  await page.screenshot({ path: path.join(docs, 'console-charts.png'), fullPage: true });
  console.log(`wrote ${path.join(docs, 'console.png')} and console-charts.png`);
} finally {
  await browser.close();
  await gw.cleanup();
}
