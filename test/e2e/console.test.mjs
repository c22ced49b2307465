// The browser console (/console/) in headless Chromium, driven by
// playwright-core: the key form, the live tail of new activations, one
// activation's result, logs and annotations, the waterfalls of a sequence
// and of a trigger, the filters, the per-action charts, and the key kept in
// the tab's sessionStorage only. The console reads the same REST API as the
// CLI, so this runs on every platform.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser } from './lib/browser.mjs';
import { GUEST_AUTH, MSG, createAction, startGateway, uniqueName, waitFor } from './lib/gateway.mjs';

// UI waits: a blocking invoke returns once the record is written, and the
// tail polls every 1.5 s; loaded machines get room.
const UI = 20000;

describe('console', { timeout: 240000 }, () => {
  let gw;
  let ow;
  let browser;
  let context;
  let page;
  const hello = uniqueName('hello');
  const fail = uniqueName('fail');
  const echo = uniqueName('echo');
  const seq = uniqueName('seq');
  const trigger = uniqueName('trig');
  const rule = uniqueName('rule');

  before(async () => {
    gw = await startGateway();
    ow = gw.client();
    await createAction(ow, hello, 'hello.js');
    await createAction(ow, fail, 'error.js');
    await createAction(ow, echo, 'echo.js');
    await ow.actions.create({ name: seq, sequence: [`/_/${hello}`, `/_/${echo}`] });
    await ow.triggers.create({ name: trigger });
    await ow.rules.create({ name: rule, trigger, action: echo });
    browser = await launchBrowser();
    ({ context, page } = browser);
  });
  after(async () => {
    await browser?.close();
    await gw?.cleanup();
  });

  const row = id => page.locator(`[data-testid="activation-row"][data-id="${id}"]`);

  test('a wrong key is refused; the guest key opens the guest namespace and stays in the tab only', async () => {
    const res = await page.goto(`${gw.apihost}/console`);
    assert.equal(res.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/console/', '/console redirects to /console/');
    await page.getByTestId('key').fill('23bc46b1-71f6-4ed5-8c54-816aa4f8c502:wrong');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-error').filter({ hasText: `${MSG.authInvalid} (401)` }).waitFor({ timeout: UI });

    await page.getByTestId('key').fill(GUEST_AUTH);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('namespace').filter({ hasText: 'guest' }).waitFor({ timeout: UI });
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem('kwhisk.console.key'), local: localStorage.length, cookie: document.cookie,
    }));
    assert.deepEqual(stored, { session: GUEST_AUTH, local: 0, cookie: '' });
  });

  test('live tail: an invoked activation appears without a reload; its result, logs and annotations open', async () => {
    await page.getByTestId('activation-list').waitFor({ timeout: UI });
    assert.equal(await page.getByTestId('tail').isChecked(), true, 'the tail is on by default');
    const name = uniqueName('visitor');
    const rec = await ow.actions.invoke({ name: hello, blocking: true, params: { name } });
    assert.equal(rec.response.status, 'success');
    await row(rec.activationId).waitFor({ timeout: UI });
    assert.equal(await row(rec.activationId).getAttribute('data-name'), hello);
    assert.equal(await row(rec.activationId).getAttribute('data-status'), 'success');

    await row(rec.activationId).click();
    const detail = page.locator(`[data-testid="detail"][data-id="${rec.activationId}"]`);
    await detail.getByTestId('logs').waitFor({ timeout: UI });
    const logs = await detail.getByTestId('logs').textContent();
    assert.match(logs, new RegExp(`stdout: hello stdout ${name}`));
    assert.match(logs, new RegExp(`stderr: hello stderr ${name}`));
    assert.deepEqual(JSON.parse(await detail.getByTestId('result').textContent()), { greeting: `Hello, ${name}!` });
    const annotations = await detail.getByTestId('annotations').textContent();
    for (const key of ['path', 'kind', 'limits', 'waitTime']) assert.ok(annotations.includes(key), `annotation ${key} in ${annotations}`);
    assert.equal(await detail.getByTestId('detail-status').textContent(), 'success');
    assert.match(page.url(), new RegExp(`#/activations/${rec.activationId}$`));
  });

  test("a sequence's waterfall: the sequence, then each component, linked to their records", async () => {
    const rec = await ow.actions.invoke({ name: seq, blocking: true, params: { name: 'seq' } });
    assert.equal(rec.response.status, 'success');
    assert.equal(rec.logs.length, 2);
    await row(rec.activationId).waitFor({ timeout: UI });
    await row(rec.activationId).click();
    const bars = page.locator(`[data-testid="detail"][data-id="${rec.activationId}"] [data-testid="waterfall-row"]`);
    await waitFor(async () => (await bars.count()) === 3 || undefined, { timeout: UI, what: 'three waterfall rows' });
    const rows = await bars.evaluateAll(gs => gs.map(g => [g.dataset.id, g.dataset.name, g.dataset.depth]));
    assert.deepEqual(rows, [[rec.activationId, seq, '0'], [rec.logs[0], hello, '1'], [rec.logs[1], echo, '1']]);
    // The component ids are the record's logs, each a link.
    const links = await page.getByTestId('logs').locator('a').allTextContents();
    assert.deepEqual(links, rec.logs);

    // A bar opens its record, whose cause is the sequence.
    await bars.nth(1).click();
    const component = page.locator(`[data-testid="detail"][data-id="${rec.logs[0]}"]`);
    await component.getByTestId('detail-name').waitFor({ timeout: UI });
    assert.equal(await component.getByTestId('detail-name').textContent(), `/guest/${hello}`);
    assert.ok((await component.textContent()).includes(`Cause${rec.activationId}`), 'the component names its cause');
  });

  test("a trigger's waterfall: the trigger, then the rule's activation", async () => {
    const fired = await ow.triggers.invoke({ name: trigger, params: { from: 'trigger' } });
    const id = fired.activationId;
    await row(id).waitFor({ timeout: UI });
    // The rule's activation runs after the trigger's record: reopen until its bar is there.
    const bars = page.locator(`[data-testid="detail"][data-id="${id}"] [data-testid="waterfall-row"]`);
    await waitFor(async () => {
      await page.goto(`${gw.apihost}/console/#/activations/${id}`);
      await bars.nth(1).waitFor({ timeout: 5000 });
      return (await bars.nth(1).getAttribute('data-name')) === echo || undefined;
    }, { timeout: UI, interval: 500, what: "the rule's activation in the trigger's waterfall" });
    assert.equal(await bars.count(), 2);
    assert.equal(await bars.nth(0).getAttribute('data-name'), trigger);
    assert.match(await bars.nth(1).textContent(), new RegExp(`^guest/${rule} → guest/${echo}`));
  });

  test('filters: by status and by action', async () => {
    // An application error answers 502 with the record.
    const res = await gw.request('POST', `/api/v1/namespaces/_/actions/${fail}?blocking=true`, { body: {} });
    assert.equal(res.status, 502, res.text);
    const bad = res.body;
    assert.equal(bad.response.status, 'application error');
    await page.goto(`${gw.apihost}/console/#/activations`);
    await row(bad.activationId).waitFor({ timeout: UI });

    await page.getByTestId('filter-status').selectOption('error');
    await page.getByTestId('filter-apply').click();
    await row(bad.activationId).waitFor({ timeout: UI });
    const statuses = await page.getByTestId('activation-row').evaluateAll(rs => rs.map(r => r.dataset.status));
    assert.ok(statuses.length > 0 && statuses.every(s => s !== 'success'), `only errors: ${statuses}`);

    await page.getByTestId('filter-status').selectOption('');
    await page.getByTestId('filter-name').fill(hello);
    await page.getByTestId('filter-apply').click();
    await waitFor(async () => {
      const names = await page.getByTestId('activation-row').evaluateAll(rs => rs.map(r => r.dataset.name));
      return names.length >= 2 && names.every(n => n === hello) ? names : undefined;
    }, { timeout: UI, what: `only ${hello} listed` });
    assert.equal(await row(bad.activationId).count(), 0);
  });

  test('the list shows the newest 50; Load older pages back', async () => {
    const pager = uniqueName('pager');
    await createAction(ow, pager, 'echo.js');
    const ids = [];
    for (let i = 0; i < 55; i++) ids.push((await ow.actions.invoke({ name: pager, blocking: true, params: { i } })).activationId);
    await page.getByTestId('filter-name').fill(pager);
    await page.getByTestId('filter-apply').click();
    const rows = page.locator(`[data-testid="activation-row"][data-name="${pager}"]`);
    await waitFor(async () => (await rows.count()) === 50 || undefined, { timeout: UI, what: '50 rows' });
    await page.getByTestId('load-more').click();
    await waitFor(async () => (await rows.count()) === 55 || undefined, { timeout: UI, what: '55 rows' });
    const shown = await rows.evaluateAll(rs => rs.map(r => r.dataset.id));
    assert.deepEqual([...shown].sort(), [...ids].sort(), 'every activation once');
  });

  test("charts: an action's activations, errors and cold starts as the API counts them", async () => {
    const list = await ow.activations.list({ name: hello, docs: true, limit: 200 });
    const cold = list.filter(a => a.annotations.some(kv => kv.key === 'initTime')).length;
    const errors = (await ow.activations.list({ name: fail, docs: true, limit: 200 })).length;
    await page.getByTestId('nav-charts').click();
    const stat = page.locator(`[data-testid="action-stat"][data-name="${hello}"]`);
    await stat.waitFor({ timeout: UI });
    const cells = await stat.locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 4), [hello, String(list.length), '0', String(cold)]);
    const failCells = await page.locator(`[data-testid="action-stat"][data-name="${fail}"] td`).allTextContents();
    assert.deepEqual(failCells.slice(1, 3), [String(errors), String(errors)]);

    await stat.click();
    const charts = page.locator(`[data-testid="charts"][data-action="${hello}"]`);
    await charts.waitFor({ timeout: UI });
    assert.match(await charts.getByTestId('chart-summary').textContent(), new RegExp(`^${list.length} activations, 0 errors, ${cold} cold starts`));
    // One bar per non-empty bucket, their values adding up to the count.
    const counts = await charts.locator('rect.bar.count').evaluateAll(rs => rs.map(r => Number(r.dataset.value)));
    assert.equal(counts.reduce((a, b) => a + b, 0), list.length);
    assert.ok(await charts.locator('polyline.line.s1').count() + await charts.locator('circle.dot.s1').count() > 0, 'a p50 line');
  });

  test('the key lives in this tab only: a reload keeps it, a new tab asks, logging out forgets it', async () => {
    await page.reload();
    await page.getByTestId('namespace').waitFor({ timeout: UI });
    const other = await context.newPage();
    await other.goto(`${gw.apihost}/console/`);
    await other.getByTestId('login').waitFor({ timeout: UI });
    await other.close();
    await page.getByTestId('logout').click();
    await page.getByTestId('login').waitFor({ timeout: UI });
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });
});
