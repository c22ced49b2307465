// Per-action charts computed from activation records in the browser:
// latency percentiles, cold starts (records with an initTime annotation)
// and errors, per time bucket; plain SVG.

import { type Activation, duration, isColdStart, isError } from './api';
import { h, ms, svg, time } from './dom';

/** percentile returns the p-th percentile (0..100) of sorted values, nearest rank. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

/** Stats summarise a set of records. */
export interface Stats {
  count: number;
  errors: number;
  cold: number;
  p50: number;
  p90: number;
  p99: number;
}

export function stats(list: Activation[]): Stats {
  const d = list.map(duration).sort((a, b) => a - b);
  return {
    count: list.length,
    errors: list.filter(isError).length,
    cold: list.filter(isColdStart).length,
    p50: percentile(d, 50),
    p90: percentile(d, 90),
    p99: percentile(d, 99),
  };
}

/** Bucket is the stats of the records that started in [from, from+width). */
export interface Bucket extends Stats {
  from: number;
}

/** buckets splits [from, to) into n buckets by start time. */
export function buckets(list: Activation[], from: number, to: number, n: number): Bucket[] {
  const width = Math.max((to - from) / n, 1);
  const parts: Activation[][] = Array.from({ length: n }, () => []);
  for (const a of list) {
    const i = Math.floor((a.start - from) / width);
    if (i >= 0 && i < n) parts[i].push(a);
  }
  return parts.map((p, i) => ({ from: from + i * width, ...stats(p) }));
}

/** byAction groups records by action name. */
export function byAction(list: Activation[]): Map<string, Activation[]> {
  const m = new Map<string, Activation[]>();
  for (const a of list) {
    const k = a.name;
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(a);
  }
  return m;
}

const W = 440;
const H = 160;
const PAD = { left: 56, right: 10, top: 22, bottom: 26 };

interface Series {
  name: string;
  cls: string;
  values: number[];
}

function frame(title: string, max: number, fmt: (v: number) => string, bs: Bucket[]): SVGElement {
  const root = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  root.append(svg('text', { x: PAD.left, y: 14, class: 'title' }, title));
  const bottom = H - PAD.bottom;
  for (let i = 0; i <= 2; i++) {
    const v = (max * i) / 2;
    const y = bottom - ((bottom - PAD.top) * i) / 2;
    root.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: 'grid' }));
    root.append(svg('text', { x: PAD.left - 4, y: y + 4, 'text-anchor': 'end', class: 'axis' }, fmt(v)));
  }
  if (bs.length > 0) {
    const last = bs[bs.length - 1];
    root.append(svg('text', { x: PAD.left, y: H - 8, class: 'axis' }, time(bs[0].from).slice(11, 19)));
    root.append(svg('text', { x: W - PAD.right, y: H - 8, 'text-anchor': 'end', class: 'axis' }, time(last.from).slice(11, 19)));
  }
  return root;
}

function lineChart(title: string, bs: Bucket[], series: Series[], fmt: (v: number) => string): SVGElement {
  const max = Math.max(1, ...series.flatMap(s => s.values));
  const root = frame(title, max, fmt, bs);
  const bottom = H - PAD.bottom;
  const step = (W - PAD.left - PAD.right) / Math.max(bs.length - 1, 1);
  const y = (v: number) => bottom - (v / max) * (bottom - PAD.top);
  series.forEach((s, si) => {
    const pts = s.values.map((v, i) => (bs[i].count > 0 ? `${PAD.left + i * step},${y(v)}` : '')).filter(Boolean);
    if (pts.length > 0) root.append(svg('polyline', { points: pts.join(' '), class: `line ${s.cls}` }));
    s.values.forEach((v, i) => {
      if (bs[i].count > 0) {
        root.append(svg('circle', { cx: PAD.left + i * step, cy: y(v), r: 2.5, class: `dot ${s.cls}` },
          svg('title', {}, `${s.name} ${fmt(v)} at ${time(bs[i].from)}`)));
      }
    });
    root.append(svg('text', { x: W - PAD.right - (series.length - si) * 44, y: 14, class: `legend ${s.cls}` }, s.name));
  });
  return root;
}

function barChart(title: string, bs: Bucket[], values: number[], cls: string): SVGElement {
  const max = Math.max(1, ...values);
  const root = frame(title, max, v => String(Math.round(v * 10) / 10), bs);
  const bottom = H - PAD.bottom;
  const slot = (W - PAD.left - PAD.right) / bs.length;
  values.forEach((v, i) => {
    if (v === 0) return;
    const bh = (v / max) * (bottom - PAD.top);
    root.append(svg('rect', { x: PAD.left + i * slot + 1, y: bottom - bh, width: Math.max(slot - 2, 1), height: bh, class: `bar ${cls}`, 'data-value': v },
      svg('title', {}, `${v} at ${time(bs[i].from)}`)));
  });
  return root;
}

/** render draws one action's charts over [from, to). */
export function render(name: string, list: Activation[], from: number, to: number): HTMLElement {
  const bs = buckets(list, from, to, 24);
  const s = stats(list);
  return h('section', { class: 'charts', 'data-testid': 'charts', 'data-action': name },
    h('h3', {}, name),
    h('p', { class: 'summary', 'data-testid': 'chart-summary' },
      `${s.count} activations, ${s.errors} errors, ${s.cold} cold starts; p50 ${ms(s.p50)}, p90 ${ms(s.p90)}, p99 ${ms(s.p99)}`),
    h('div', { class: 'chart-grid' },
      lineChart('latency', bs, [
        { name: 'p50', cls: 's1', values: bs.map(b => b.p50) },
        { name: 'p90', cls: 's2', values: bs.map(b => b.p90) },
        { name: 'p99', cls: 's3', values: bs.map(b => b.p99) },
      ], ms),
      barChart('activations', bs, bs.map(b => b.count), 'count'),
      barChart('cold starts', bs, bs.map(b => b.cold), 'cold'),
      barChart('errors', bs, bs.map(b => b.errors), 'error'),
    ));
}
