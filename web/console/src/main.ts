// The kwhisk console: one namespace at a time, after its key is entered.
// The key stays in this tab's sessionStorage (gone when the tab closes)
// and goes to the gateway's REST API as Basic credentials, as the CLI's.

import './style.css';
import { type Activation, Api, ApiError, MAX_LIMIT, annotation, children, duration, isColdStart, isError, kind } from './api';
import * as charts from './charts';
import { h, ms, time } from './dom';
import * as waterfall from './waterfall';

const KEY = 'kwhisk.console.key';
const TAIL_MS = 1500;
// The tail asks again for what started this long before the newest record
// it has: a record is written when its activation ends, so a long one
// lands after shorter ones that started later.
const TAIL_OVERLAP_MS = 60000;

interface Session {
  api: Api;
  namespace: string;
}

interface Filter {
  name: string;
  status: '' | 'success' | 'error';
  since?: number;
  upto?: number;
}

const app = document.getElementById('app')!;
let session: Session | undefined;
let filter: Filter = { name: '', status: '' };
const records = new Map<string, Activation>();
let tailTimer: number | undefined;
// tailWanted is the Live tail box: on until unticked. The tail runs while
// it is ticked, the list is shown and no upper time bound is set.
let tailWanted = true;
let tailBusy = false;
let listError = '';

function stopTail(): void {
  if (tailTimer !== undefined) window.clearInterval(tailTimer);
  tailTimer = undefined;
}

// ---- login ----

async function login(key: string): Promise<Session> {
  const api = new Api(key.trim());
  const ns = await api.namespaces();
  return { api, namespace: ns[0] ?? '_' };
}

function loginView(message = ''): void {
  stopTail();
  const input = h('input', {
    id: 'key', name: 'key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true,
    placeholder: 'uuid:key', 'data-testid': 'key',
  });
  const err = h('p', { class: 'error', 'data-testid': 'login-error', role: 'alert' }, message);
  const form = h('form', { class: 'login', 'data-testid': 'login' },
    h('h1', {}, 'kwhisk console'),
    h('label', { for: 'key' }, 'Namespace key'),
    input,
    h('p', { class: 'hint' }, 'The key of one namespace, as ', h('code', {}, 'wsk property get --auth'), ' prints it. It is kept in this tab only.'),
    h('button', { type: 'submit', 'data-testid': 'login-submit' }, 'Open'),
    err);
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    err.textContent = '';
    try {
      session = await login(input.value);
      sessionStorage.setItem(KEY, input.value.trim());
      route();
    } catch (e) {
      err.textContent = e instanceof ApiError ? `${e.message} (${e.status})` : `The gateway did not answer: ${(e as Error).message}`;
    }
  });
  app.replaceChildren(form);
  input.focus();
}

function logout(): void {
  sessionStorage.removeItem(KEY);
  session = undefined;
  records.clear();
  loaded = false;
  tailWanted = true;
  location.hash = '';
  loginView();
}

// ---- layout ----

function shell(active: 'activations' | 'charts', ...body: Node[]): void {
  const nav = (href: string, label: string, on: boolean) =>
    h('a', { href, class: on ? 'active' : undefined, 'data-testid': `nav-${label.toLowerCase()}` }, label);
  app.replaceChildren(
    h('header', {},
      h('strong', {}, 'kwhisk console'),
      h('span', { class: 'ns', 'data-testid': 'namespace' }, session!.namespace),
      h('nav', {}, nav('#/activations', 'Activations', active === 'activations'), nav('#/charts', 'Charts', active === 'charts')),
      h('button', { class: 'link', 'data-testid': 'logout', onclick: logout }, 'Log out')),
    h('main', {}, ...body));
}

// ---- activation list ----

function statusClass(a: Activation): string {
  return a.response.success ? 'ok' : 'fail';
}

function visible(): Activation[] {
  return [...records.values()]
    .filter(a => filter.status === '' || (filter.status === 'error') === isError(a))
    .sort((a, b) => b.start - a.start || (a.activationId < b.activationId ? 1 : -1));
}

/** KEEP bounds the records the list holds: a long tail drops the oldest. */
const KEEP = 1000;

function merge(list: Activation[]): number {
  let added = 0;
  for (const a of list) {
    if (!records.has(a.activationId)) added++;
    records.set(a.activationId, a);
  }
  if (records.size > KEEP) {
    const old = [...records.values()].sort((a, b) => a.start - b.start);
    for (const a of old.slice(0, records.size - KEEP)) records.delete(a.activationId);
  }
  return added;
}

function toInput(t?: number): string {
  if (t === undefined) return '';
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

function fromInput(v: string): number | undefined {
  if (!v) return undefined;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? undefined : t;
}

function filterForm(): HTMLFormElement {
  const name = h('input', { name: 'name', value: filter.name, placeholder: 'action or package/action', 'data-testid': 'filter-name' });
  const status = h('select', { name: 'status', 'data-testid': 'filter-status' },
    h('option', { value: '' }, 'any status'),
    h('option', { value: 'success' }, 'success'),
    h('option', { value: 'error' }, 'error'));
  status.value = filter.status;
  const since = h('input', { name: 'since', type: 'datetime-local', step: 1, value: toInput(filter.since), 'data-testid': 'filter-since' });
  const upto = h('input', { name: 'upto', type: 'datetime-local', step: 1, value: toInput(filter.upto), 'data-testid': 'filter-upto' });
  const form = h('form', { class: 'filters', 'data-testid': 'filters' },
    h('label', {}, 'Action ', name),
    h('label', {}, 'Status ', status),
    h('label', {}, 'Since ', since),
    h('label', {}, 'Up to ', upto),
    h('button', { type: 'submit', 'data-testid': 'filter-apply' }, 'Apply'));
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    filter = {
      name: name.value.trim(), status: status.value as Filter['status'],
      since: fromInput(since.value), upto: fromInput(upto.value),
    };
    records.clear();
    void reload();
  });
  return form;
}

function table(): HTMLElement {
  const rows = visible();
  const selected = selectedId();
  const body = h('tbody', {}, ...rows.map(a => {
    const cold = isColdStart(a);
    return h('tr', {
      class: `${statusClass(a)}${a.activationId === selected ? ' selected' : ''}`, 'data-testid': 'activation-row',
      'data-id': a.activationId, 'data-name': a.name, 'data-status': a.response.status,
      onclick: () => { location.hash = `#/activations/${a.activationId}`; },
    },
    h('td', { title: time(a.start) }, time(a.start).slice(11)),
    h('td', {}, a.name),
    h('td', { class: 'mono', title: a.activationId }, a.activationId.slice(0, 12)),
    h('td', {}, kind(a)),
    h('td', { class: 'status' }, a.response.status),
    h('td', { class: 'num' }, a.end ? ms(duration(a)) : ''),
    h('td', {}, cold ? `cold ${ms(Number(annotation(a, 'initTime')))}` : ''));
  }));
  const empty = rows.length === 0 ? h('p', { class: 'empty', 'data-testid': 'empty' }, listError || 'No activations match.') : null;
  return h('div', { class: 'list', 'data-testid': 'activation-list' },
    h('table', {},
      h('thead', {}, h('tr', {}, ...['Start', 'Action', 'Activation', 'Kind', 'Status', 'Duration', 'Cold start'].map(t => h('th', {}, t)))),
      body),
    empty,
    h('button', { class: 'more', 'data-testid': 'load-more', onclick: () => void loadMore() }, 'Load older'));
}

function tailToggle(): HTMLElement {
  const box = h('input', { type: 'checkbox', 'data-testid': 'tail', checked: tailTimer !== undefined, disabled: filter.upto !== undefined });
  box.addEventListener('change', () => {
    tailWanted = box.checked;
    if (box.checked) startTail();
    else stopTail();
  });
  return h('label', { class: 'tail' }, box, ' Live tail');
}

function renderList(): void {
  const el = document.querySelector('[data-testid="activation-list"]');
  if (el) el.replaceWith(table());
}

async function reload(): Promise<void> {
  listError = '';
  try {
    merge(await session!.api.activations({ name: filter.name || undefined, since: filter.since, upto: filter.upto, limit: 50 }));
  } catch (e) {
    listError = (e as Error).message;
  }
  if (tailWanted && filter.upto === undefined) startTail();
  else stopTail();
  activationsView();
}

async function loadMore(): Promise<void> {
  const all = [...records.values()];
  const oldest = Math.min(...all.map(a => a.start));
  // upto is inclusive: skip the records of that millisecond already here.
  const known = all.filter(a => a.start === oldest).length;
  try {
    merge(await session!.api.activations({
      name: filter.name || undefined, since: filter.since,
      upto: Number.isFinite(oldest) ? oldest : filter.upto, skip: known || undefined, limit: 50,
    }));
  } catch (e) {
    listError = (e as Error).message;
  }
  renderList();
}

function startTail(): void {
  stopTail();
  tailTimer = window.setInterval(() => void tail(), TAIL_MS);
}

async function tail(): Promise<void> {
  if (tailBusy || !session) return;
  tailBusy = true;
  try {
    const newest = Math.max(0, ...[...records.values()].map(a => a.start));
    const since = Math.max(filter.since ?? 0, newest - TAIL_OVERLAP_MS);
    const list = await session.api.activations({ name: filter.name || undefined, since: since || undefined, limit: MAX_LIMIT });
    if (merge(list) > 0 && currentView() === 'activations') renderList();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) logout();
  } finally {
    tailBusy = false;
  }
}

// ---- one activation ----

function pre(v: unknown, testid: string): HTMLElement {
  return h('pre', { 'data-testid': testid }, typeof v === 'string' ? v : JSON.stringify(v, null, 2));
}

async function detail(id: string): Promise<HTMLElement> {
  const pane = h('section', { class: 'detail', 'data-testid': 'detail', 'data-id': id }, h('p', {}, 'Loading…'));
  let a: Activation;
  try {
    a = await session!.api.activation(id);
  } catch (e) {
    pane.replaceChildren(h('p', { class: 'error', 'data-testid': 'detail-error' }, `${id}: ${(e as Error).message}`));
    return pane;
  }
  const open = (other: string) => h('a', { href: `#/activations/${other}`, class: 'mono' }, other);
  const kids = children(a);
  const logs = kids.length > 0 && kids.every(c => c.id && a.logs.includes(c.id))
    ? h('ul', { 'data-testid': 'logs', class: 'ids' }, ...a.logs.map(l => h('li', {}, open(l))))
    : pre(a.logs.join('\n'), 'logs');
  const facts: [string, Node | string][] = [
    ['Activation', h('span', { class: 'mono' }, a.activationId)],
    ['Status', h('span', { class: statusClass(a), 'data-testid': 'detail-status' }, a.response.status)],
    ['Kind', kind(a)],
    ['Start', time(a.start)],
    ['Duration', a.end ? ms(duration(a)) : ''],
  ];
  if (a.cause) facts.push(['Cause', open(a.cause)]);
  const ann = h('table', { class: 'kv', 'data-testid': 'annotations' },
    h('tbody', {}, ...a.annotations.map(kv => h('tr', {}, h('th', {}, kv.key), h('td', { class: 'mono' }, JSON.stringify(kv.value))))));
  const sections: Node[] = [
    h('h2', { 'data-testid': 'detail-name' }, `/${a.namespace}/${a.name}`),
    h('dl', {}, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
  ];
  if (kids.length > 0) {
    const wf = h('div', { class: 'wf-slot' }, h('p', {}, 'Loading the waterfall…'));
    sections.push(h('h3', {}, 'Waterfall'), wf);
    void waterfall.load(session!.api, a).then(rows => {
      // As wide as its pane, once the pane is on the page.
      const width = wf.clientWidth > 0 ? Math.max(wf.clientWidth, 480) : 900;
      wf.replaceChildren(waterfall.render(rows, width, other => { location.hash = `#/activations/${other}`; }));
    });
  }
  sections.push(h('h3', {}, 'Result'), pre(a.response.result ?? {}, 'result'),
    h('h3', {}, kids.length > 0 ? 'Logs (started activations)' : 'Logs'), logs,
    h('h3', {}, 'Annotations'), ann);
  pane.replaceChildren(...sections);
  return pane;
}

// ---- charts ----

const WINDOWS: [string, number][] = [['15 minutes', 15 * 60000], ['1 hour', 3600000], ['6 hours', 6 * 3600000], ['24 hours', 24 * 3600000]];
let chartWindow = 3600000;
let chartAction = '';
/** CHART_RECORDS bounds how many records one chart view reads. */
const CHART_RECORDS = 1000;

async function chartsView(): Promise<void> {
  stopTail();
  const to = Date.now();
  const from = to - chartWindow;
  const win = h('select', { 'data-testid': 'chart-window' }, ...WINDOWS.map(([l, v]) => h('option', { value: v }, l)));
  win.value = String(chartWindow);
  win.addEventListener('change', () => { chartWindow = Number(win.value); void chartsView(); });
  const slot = h('div', {}, h('p', {}, 'Loading…'));
  shell('charts', h('form', { class: 'filters' }, h('label', {}, 'Window ', win),
    h('button', { type: 'button', onclick: () => void chartsView() }, 'Refresh')), slot);
  const list: Activation[] = [];
  try {
    for (let skip = 0; skip < CHART_RECORDS; skip += MAX_LIMIT) {
      const page = await session!.api.activations({ since: from, skip, limit: MAX_LIMIT });
      list.push(...page);
      if (page.length < MAX_LIMIT) break;
    }
  } catch (e) {
    slot.replaceChildren(h('p', { class: 'error' }, (e as Error).message));
    return;
  }
  const groups = [...charts.byAction(list)].sort((a, b) => b[1].length - a[1].length);
  if (groups.length === 0) {
    slot.replaceChildren(h('p', { class: 'empty', 'data-testid': 'empty' }, 'No activations in this window.'));
    return;
  }
  if (!groups.some(([n]) => n === chartAction)) chartAction = groups[0][0];
  const summary = h('table', { class: 'actions', 'data-testid': 'action-stats' },
    h('thead', {}, h('tr', {}, ...['Action', 'Activations', 'Errors', 'Cold starts', 'p50', 'p90', 'p99'].map(t => h('th', {}, t)))),
    h('tbody', {}, ...groups.map(([name, recs]) => {
      const s = charts.stats(recs);
      return h('tr', {
        class: name === chartAction ? 'selected' : undefined, 'data-testid': 'action-stat', 'data-name': name,
        onclick: () => { chartAction = name; void chartsView(); },
      }, h('td', {}, name), h('td', { class: 'num' }, s.count), h('td', { class: 'num' }, s.errors), h('td', { class: 'num' }, s.cold),
      h('td', { class: 'num' }, ms(s.p50)), h('td', { class: 'num' }, ms(s.p90)), h('td', { class: 'num' }, ms(s.p99)));
    })));
  const note = list.length >= CHART_RECORDS ? h('p', { class: 'hint' }, `The newest ${CHART_RECORDS} activations of the window.`) : null;
  // The time axis starts at the window's first record, not before.
  const first = Math.min(...list.map(a => a.start));
  slot.replaceChildren(summary, note ?? '', charts.render(chartAction, groups.find(([n]) => n === chartAction)![1], Math.max(from, first), to));
}

// ---- routing ----

function currentView(): 'activations' | 'charts' {
  return location.hash.startsWith('#/charts') ? 'charts' : 'activations';
}

function selectedId(): string | undefined {
  const m = /^#\/activations\/([0-9a-fA-F]+)$/.exec(location.hash);
  return m?.[1];
}

function activationsView(): void {
  const id = selectedId();
  const side = id ? h('div', { class: 'side' }, h('p', {}, 'Loading…')) : null;
  shell('activations',
    h('div', { class: 'toolbar' }, filterForm(), tailToggle()),
    h('div', { class: id ? 'split' : '' }, table(), side ?? ''));
  if (id && side) void detail(id).then(p => side.replaceChildren(p));
}

let loaded = false;

function route(): void {
  if (!session) {
    loginView();
    return;
  }
  if (currentView() === 'charts') {
    void chartsView();
    return;
  }
  if (!loaded) {
    loaded = true;
    void reload();
    return;
  }
  if (tailTimer === undefined && tailWanted && filter.upto === undefined) startTail();
  activationsView();
}

window.addEventListener('hashchange', route);

async function start(): Promise<void> {
  const key = sessionStorage.getItem(KEY);
  if (key) {
    try {
      session = await login(key);
    } catch (e) {
      sessionStorage.removeItem(KEY);
      loginView(e instanceof ApiError ? `${e.message} (${e.status})` : '');
      return;
    }
  }
  route();
}

void start();
