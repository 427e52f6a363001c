import { expect } from "vitest";
import { testServers } from "../support/servers.js";
import type { InteropWorld } from "./world.js";

/** One call for `control_calls.py`: [kind ("inspect", "control" or "send"), method, kwargs]. */
export type CeleryCall = [kind: string, method: string, kwargs: Record<string, unknown>];

/** Run Python Celery's calls against the worker `node` (control_calls.py); what each returned, in order. */
export async function celeryCalls(
  world: InteropWorld,
  node: string,
  ...calls: CeleryCall[]
): Promise<unknown[]> {
  const client = world.python.start(["-m", "control_calls", ...calls.map((call) => JSON.stringify(call))], {
    NODE: node,
  });
  const results: unknown[] = [];
  for (let index = 0; index < calls.length; index += 1)
    results.push(JSON.parse(await client.line(`RESULT${index} `)));
  expect((await client.exited).code).toBe(0);
  return results;
}

/** The whole environment `worker-toolbox inspect/control` gets to reach the world's workers. */
export function cliEnv(world: InteropWorld): Record<string, string> {
  return {
    AMQP_URL: testServers().amqpUrl,
    WT_ENVIRONMENT_PREFIX: world.prefix,
    WT_MODE: "test",
    WT_LOG_LEVEL: "silent",
  };
}
