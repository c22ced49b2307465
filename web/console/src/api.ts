// The REST API as the console reads it: the same /api/v1 paths, query
// parameters and Basic credentials the wsk CLI uses, on the origin that
// served the console.

export interface KeyValue {
  key: string;
  value: unknown;
}

export interface Activation {
  namespace: string;
  name: string;
  version: string;
  subject: string;
  activationId: string;
  cause?: string;
  start: number;
  end?: number;
  duration?: number;
  response: { status: string; success: boolean; result?: unknown; size?: number };
  logs: string[];
  annotations: KeyValue[];
  publish: boolean;
}

/** ListFilter is what GET .../activations filters on (start bounds in epoch ms). */
export interface ListFilter {
  name?: string;
  since?: number;
  upto?: number;
  skip?: number;
  limit?: number;
}

/** ApiError is a non-2xx answer: its status and OpenWhisk's error text. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** MAX_LIMIT is the largest page the activation list returns. */
export const MAX_LIMIT = 200;

export class Api {
  private readonly base: URL;
  private readonly auth: string;

  /** key is "uuid:key", as `wsk property get --auth` prints it. */
  constructor(key: string, base = new URL('../api/v1/', document.baseURI)) {
    this.base = base;
    this.auth = 'Basic ' + btoa(key);
  }

  private async get<T>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    }
    // credentials 'omit': the key goes in the header we set, and a 401's
    // WWW-Authenticate must not make the browser ask for a password.
    const res = await fetch(url, { headers: { Authorization: this.auth, Accept: 'application/json' }, credentials: 'omit' });
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const msg = (body as { error?: string } | undefined)?.error ?? `${res.status} ${res.statusText}`;
      throw new ApiError(res.status, msg);
    }
    return body as T;
  }

  /** namespaces lists the namespaces the key may use (one: its own). */
  namespaces(): Promise<string[]> {
    return this.get<string[]>('namespaces');
  }

  /** activations lists full records (docs=true), newest first. */
  activations(f: ListFilter = {}): Promise<Activation[]> {
    return this.get<Activation[]>('namespaces/_/activations', {
      docs: true, name: f.name, since: f.since, upto: f.upto, skip: f.skip, limit: f.limit ?? 50,
    });
  }

  activation(id: string): Promise<Activation> {
    return this.get<Activation>(`namespaces/_/activations/${encodeURIComponent(id)}`);
  }
}

/** annotation returns the value of key in a record's annotations. */
export function annotation(a: Activation, key: string): unknown {
  return a.annotations.find(kv => kv.key === key)?.value;
}

/** kind is the record's kind annotation: "nodejs:20", "sequence", ... */
export function kind(a: Activation): string {
  if (annotation(a, 'conductor') === true) return 'conductor';
  const k = annotation(a, 'kind');
  if (typeof k === 'string') return k;
  return isTrigger(a) ? 'trigger' : '';
}

/** isError is true for every outcome but success. */
export function isError(a: Activation): boolean {
  return !a.response.success;
}

/** isColdStart is true when the record has an initTime annotation. */
export function isColdStart(a: Activation): boolean {
  return typeof annotation(a, 'initTime') === 'number';
}

/** duration is the record's duration in ms (0 while unknown). */
export function duration(a: Activation): number {
  return a.duration ?? (a.end ? a.end - a.start : 0);
}

const ID = /^[0-9a-f]{32}$/;

/** RuleLog is one line of a trigger activation's logs. */
export interface RuleLog {
  rule: string;
  action: string;
  success: boolean;
  statusCode: number;
  activationId?: string;
  error?: string;
}

function ruleLog(line: string): RuleLog | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(line) as RuleLog;
    return typeof v.rule === 'string' && typeof v.action === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** isTrigger tells a trigger activation: its logs are the rules' JSON lines. */
export function isTrigger(a: Activation): boolean {
  return a.logs.length > 0 && a.logs.every(l => ruleLog(l) !== undefined);
}

/** Child is one activation a sequence, conductor or trigger record started. */
export interface Child {
  id?: string;
  label?: string; // a rule's "rule → action"
  error?: string; // a rule that started nothing
}

/**
 * children lists what a record started: a sequence's or conductor's
 * component activation ids (its logs), or a trigger's rule activations
 * (its logs are JSON lines). Other records have none.
 */
export function children(a: Activation): Child[] {
  const k = kind(a);
  if ((k === 'sequence' || k === 'conductor') && a.logs.every(l => ID.test(l))) {
    return a.logs.map(id => ({ id }));
  }
  if (isTrigger(a)) {
    return a.logs.map(l => {
      const r = ruleLog(l)!;
      return { id: r.activationId, label: `${r.rule} → ${r.action}`, error: r.error };
    });
  }
  return [];
}
