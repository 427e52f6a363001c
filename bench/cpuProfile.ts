/**
 * Sum a V8 .cpuprofile (node --cpu-prof, BENCH_E2E_PROFILE) by self time: per function and per file, the
 * process's own work first (idle, program and garbage collection are listed apart).
 *
 *   npx tsx bench/cpuProfile.ts <file.cpuprofile> [top N (30)] [filter: only frames whose file contains this]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const SPECIAL = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/** Self time in ms by node id. */
function selfTimes(profile: Profile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1_000);
  }
  return self;
}

function shortFile(url: string): string {
  if (!url) return "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const pkg = url.indexOf("/packages/");
  return pkg >= 0 ? url.slice(pkg + 1) : url.replace(/^file:\/\//, "");
}

function top(sums: Map<string, number>, total: number, n: number): string[] {
  return [...sums]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([key, ms]) =>
        `${ms.toFixed(1).padStart(9)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${key}`,
    );
}

export function summarize(file: string, n = 30, filter = ""): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const self = selfTimes(profile);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const special = new Map<string, number>();
  let busy = 0;
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (ms === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (SPECIAL.has(functionName)) {
      special.set(functionName, (special.get(functionName) ?? 0) + ms);
      continue;
    }
    if (filter && !url.includes(filter)) continue;
    busy += ms;
    const where = shortFile(url);
    const fn = `${functionName || "(anonymous)"}  ${where}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    byFile.set(where, (byFile.get(where) ?? 0) + ms);
  }
  const lines = [
    `${file}: own work ${busy.toFixed(1)} ms; ${[...special].map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(", ")}`,
    "by function (self):",
    ...top(byFunction, busy, n),
    "by file (self):",
    ...top(byFile, busy, n),
  ];
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, n, filter] = process.argv.slice(2);
  if (!file) throw new Error("usage: npx tsx bench/cpuProfile.ts <file.cpuprofile> [top N] [filter]");
  console.log(summarize(file, Number(n ?? 30), filter ?? ""));
}
