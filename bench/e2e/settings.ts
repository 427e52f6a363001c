/**
 * Which systems, payloads and sizes an end-to-end run measures (bench/e2e.ts), read from its BENCH_E2E_*
 * variables, and the processes each system runs.
 */

import { existsSync } from "node:fs";
import { PLATFORM_COPIES, type PlatformCopy } from "./platformCopy.js";
import { workerNodeArgs } from "./workerFlags.js";

/** Each system's processes: the script in bench/e2e/ and the role it is started with. */
export const SYSTEMS = {
  "raw-batched": { producer: "raw.mjs", worker: ["raw.mjs", "batched"], server: "rabbitmq" },
  "raw-single": { producer: "raw.mjs", worker: ["raw.mjs", "single"], server: "rabbitmq" },
  toolbox: { producer: "toolbox.mjs", worker: ["toolbox.mjs", "worker"], server: "rabbitmq" },
  // BENCH_E2E_BASE: the same script on another checkout's built packages (an A/B within one run).
  "toolbox-base": { producer: "toolbox.mjs", worker: ["toolbox.mjs", "worker"], server: "rabbitmq" },
  bullmq: { producer: "bullmq.mjs", worker: ["bullmq.mjs", "worker"], server: "redis" },
  // A Python producer; the worker is a Node wrapper around Celery's prefork worker (bench/e2e/celery.mjs).
  celery: { producer: "celery_producer.py", worker: ["celery.mjs", "worker"], server: "rabbitmq" },
} as const;
export type Kind = keyof typeof SYSTEMS;
/**
 * A system of SYSTEMS, or a raw pipeline with another platform copy: `raw-batched@stream`, `@lazy` (a lazy
 * classic queue), `@classic`, `@none` (no platform queue: what the copy costs the broker); `toolbox@once`:
 * the toolbox with `database.resultExtended` off (the arguments are not stored in the result row).
 */
export type System = Kind | `${"raw-batched" | "raw-single"}@${PlatformCopy}` | "toolbox@once";
export const kindOf = (system: System) => system.split("@")[0] as Kind;

export interface Settings {
  systems: System[];
  payloads: number[];
  count: (payloadBytes: number) => number;
  samples: number;
  rounds: number;
  prefetch: number;
  concurrency: number;
  nodeArgs: string[];
  /** Added for worker processes: how generated services start theirs (workerFlags.ts). */
  workerNodeArgs: string[];
  profileDir: string | undefined;
  /** BENCH_E2E_TRACKER=on: a third process reads the platform copy as the tracker does (see trackerOf). */
  tracker: boolean;
  /** Celery runs at a few hundred tasks/s and waits 0.5 s per round trip: it gets its own, smaller sizes. */
  celeryCount: number;
  celerySamples: number;
}

export function settings(): Settings {
  const list = (name: string, fallback: string) =>
    (process.env[name] ?? fallback)
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const systems = list("BENCH_E2E_SYSTEMS", Object.keys(SYSTEMS).join(",")) as System[];
  for (const system of systems) {
    const [kind, copy] = system.split("@");
    if (
      !(kind! in SYSTEMS) ||
      (copy !== undefined &&
        system !== "toolbox@once" &&
        (!kind!.startsWith("raw-") || !(copy in PLATFORM_COPIES)))
    )
      throw new Error(`unknown system ${system}`);
  }
  if (process.env.BENCH_E2E_BASE) {
    const built = `${process.env.BENCH_E2E_BASE}/packages/runtime/dist/index.js`;
    if (!existsSync(built))
      throw new Error(`BENCH_E2E_BASE: ${built} is missing (npm run build there first)`);
    if (!systems.includes("toolbox-base")) systems.push("toolbox-base");
  } else if (systems.includes("toolbox-base"))
    throw new Error("toolbox-base needs BENCH_E2E_BASE=<checkout>");
  const count = Number(process.env.BENCH_E2E_COUNT ?? 20_000);
  const large = Number(process.env.BENCH_E2E_COUNT_LARGE ?? 2_000);
  return {
    systems,
    payloads: list("BENCH_E2E_PAYLOADS", "0,1024,102400").map(Number),
    count: (bytes) => (bytes >= 65_536 ? large : count),
    samples: Number(process.env.BENCH_E2E_SAMPLES ?? 200),
    rounds: Number(process.env.BENCH_E2E_ROUNDS ?? 3),
    prefetch: Number(process.env.BENCH_E2E_PREFETCH ?? 500),
    concurrency: Number(process.env.BENCH_E2E_CONCURRENCY ?? 64),
    nodeArgs: process.env.BENCH_E2E_NODE_ARGS?.split(" ").filter(Boolean) ?? [],
    workerNodeArgs: workerNodeArgs(),
    profileDir: process.env.BENCH_E2E_PROFILE,
    tracker: process.env.BENCH_E2E_TRACKER === "on",
    celeryCount: Number(process.env.BENCH_E2E_CELERY_COUNT ?? 2_000),
    celerySamples: Number(process.env.BENCH_E2E_CELERY_SAMPLES ?? 20),
  };
}
