// The waterfall of a sequence's, conductor's or trigger's activations: the
// record, then what it started (component records and rule activations,
// nested ones below their parent), each a bar on one time axis.

import { type Activation, type Api, ApiError, children, duration, isError, kind } from './api';
import { h, ms, svg } from './dom';

/** Row is one line of the waterfall. */
export interface Row {
  depth: number;
  id?: string;
  act?: Activation;
  label: string;
  note?: string; // why there is no record
}

/** MAX_ROWS bounds how many records one waterfall fetches. */
const MAX_ROWS = 200;

/**
 * load walks the tree below root depth first. A record not yet written
 * (a rule's activation still running) or gone is a row with a note.
 */
export async function load(api: Api, root: Activation): Promise<Row[]> {
  const rows: Row[] = [];
  const walk = async (a: Activation, depth: number, label: string) => {
    rows.push({ depth, id: a.activationId, act: a, label });
    for (const c of children(a)) {
      if (rows.length >= MAX_ROWS) return;
      const name = c.label ?? '';
      if (!c.id) {
        rows.push({ depth: depth + 1, label: name || 'no activation', note: c.error ?? 'no activation' });
        continue;
      }
      let child: Activation;
      try {
        child = await api.activation(c.id);
      } catch (err) {
        const note = err instanceof ApiError && err.status === 404 ? 'no record yet' : String((err as Error).message);
        rows.push({ depth: depth + 1, id: c.id, label: name || c.id, note });
        continue;
      }
      await walk(child, depth + 1, name ? `${name}` : child.name);
    }
  };
  await walk(root, 0, root.name);
  return rows;
}

const ROW = 24;
const LABEL = 180;

/** render draws rows on one time axis, width pixels wide; onPick opens a row's record. */
export function render(rows: Row[], width: number, onPick: (id: string) => void): HTMLElement {
  const timed = rows.filter(r => r.act);
  const t0 = Math.min(...timed.map(r => r.act!.start));
  const t1 = Math.max(...timed.map(r => r.act!.start + Math.max(duration(r.act!), 1)));
  const span = Math.max(t1 - t0, 1);
  const plot = width - LABEL - 64;
  const x = (t: number) => LABEL + ((t - t0) / span) * plot;
  const height = rows.length * ROW + 28;
  const root = svg('svg', {
    class: 'waterfall', width: width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `waterfall of ${rows.length} activations`,
  });
  // Time axis: five ticks.
  for (let i = 0; i <= 4; i++) {
    const t = (span * i) / 4;
    const tx = LABEL + (plot * i) / 4;
    root.append(svg('line', { x1: tx, x2: tx, y1: 18, y2: height, class: 'grid' }));
    root.append(svg('text', { x: tx, y: 12, 'text-anchor': 'middle', class: 'axis' }, `+${ms(t)}`));
  }
  rows.forEach((r, i) => {
    const y = 22 + i * ROW;
    const g = svg('g', {
      class: 'row', 'data-testid': 'waterfall-row', 'data-id': r.id, 'data-name': r.act?.name ?? '',
      'data-depth': r.depth,
    });
    // The whole line is the row's target, not just its text and bar.
    g.append(svg('rect', { x: 0, y: y + 1, width: width, height: ROW - 2, class: 'hit' }));
    if (r.id && r.act) {
      g.addEventListener('click', () => onPick(r.id!));
      g.setAttribute('tabindex', '0');
    }
    const text = `${'  '.repeat(r.depth)}${r.label}`;
    g.append(svg('text', { x: 4 + r.depth * 14, y: y + 15, class: 'label' }, text.trim()));
    if (r.act) {
      const a = r.act;
      const d = duration(a);
      const bx = x(a.start);
      const bw = Math.max(x(a.start + d) - bx, 2);
      const cls = isError(a) ? 'bar error' : kind(a) === 'sequence' || kind(a) === 'conductor' || kind(a) === 'trigger' ? 'bar parent' : 'bar';
      g.append(svg('rect', { x: bx, y: y + 3, width: bw, height: ROW - 8, rx: 3, class: cls },
        svg('title', {}, `${a.name} ${a.activationId}\n${a.response.status}, ${ms(d)}`)));
      g.append(svg('text', { x: bx + bw + 4, y: y + 15, class: 'value' }, ms(d)));
    } else {
      g.append(svg('text', { x: LABEL, y: y + 15, class: 'note' }, r.note ?? ''));
    }
    root.append(g);
  });
  return h('div', { class: 'waterfall-wrap', 'data-testid': 'waterfall' }, root);
}
