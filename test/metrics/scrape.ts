/** HTTP helpers for the health endpoint tests: plain fetch, and a small Prometheus text parser. */

export interface HttpAnswer {
  status: number;
  contentType: string | null;
  body: string;
}

export async function get(port: number, path: string): Promise<HttpAnswer> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    body: await response.text(),
  };
}

export async function getJson(
  port: number,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await get(port, path);
  return { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> };
}

/** Samples of a scrape, keyed `name{a="1",b="2"}` with labels sorted by name (no key braces without labels). */
export type Samples = ReadonlyMap<string, number>;

export async function scrape(port: number): Promise<Samples> {
  const answer = await get(port, "/metrics");
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}: ${answer.body}`);
  return parsePrometheus(answer.body);
}

export function parsePrometheus(text: string): Samples {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const [, name, labelText, value] = match as unknown as [string, string, string | undefined, string];
    const labels = [...(labelText ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, key, val]) => `${key}="${val}"`)
      .sort();
    samples.set(key(name, labels), Number(value));
  }
  return samples;
}

/** The value of one sample; `labels` are matched exactly (the worker's `service` label included). */
export function sample(
  samples: Samples,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const parts = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  return samples.get(key(name, parts));
}

function key(name: string, labels: readonly string[]): string {
  return labels.length === 0 ? name : `${name}{${labels.join(",")}}`;
}
