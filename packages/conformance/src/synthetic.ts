import { randomUUID } from "node:crypto";
import { type AnyTaskContract, defineTask } from "@worker-toolbox/config";
import { implementTask, type TaskImplementation } from "@worker-toolbox/runtime";
import { z } from "zod";

/**
 * Tasks the suite adds to the service's worker, in the service's own namespace, to watch behaviour the
 * service's handlers should not be made to show: a task that always throws, one that runs until released,
 * and one that records that it ran. Each call carries a token (its only argument) so the suite can find
 * the records of exactly that call.
 */
export interface Call {
  taskId: string;
  attempt: number;
  at: number;
}

/** Retries of the failing task: three attempts, 100 ms then 200 ms apart (no jitter), so it is fast. */
export const FAIL_POLICY = {
  maxAttempts: 3,
  backoffBaseMs: 100,
  backoffMaxMs: 1_000,
  jitter: "none",
} as const;

/** Longest the failing task's retries may take on top of a result's own timeout (every backoff summed, rounded up). */
export const FAIL_BUDGET_MS = FAIL_POLICY.backoffBaseMs * 2 ** FAIL_POLICY.maxAttempts;

export class SyntheticTasks {
  readonly fail: AnyTaskContract;
  readonly slow: AnyTaskContract;
  readonly probe: AnyTaskContract;
  readonly implementations: TaskImplementation[];
  private readonly calls = new Map<string, Call[]>();
  private readonly gates = new Map<
    string,
    { started: () => void; release: () => void; released: Promise<void> }
  >();
  private readonly startedWaiters = new Map<string, Promise<void>>();

  constructor(service: string) {
    const token = z.tuple([z.string()]);
    this.fail = defineTask({
      name: `${service}.conformance_fail`,
      args: token,
      result: z.null(),
      description: "conformance suite: always throws, to exercise retries and dead-lettering",
      retry: FAIL_POLICY,
    });
    this.slow = defineTask({
      name: `${service}.conformance_slow`,
      args: token,
      result: z.literal("finished"),
      description: "conformance suite: runs until the suite releases it, to exercise shutdown",
    });
    this.probe = defineTask({
      name: `${service}.conformance_probe`,
      args: token,
      result: z.literal("ran"),
      description: "conformance suite: records that it ran",
    });
    this.implementations = [
      implementTask(this.fail, ({ args }, ctx) => {
        this.record(args[0] as string, ctx.taskId, ctx.attempt);
        throw new Error(`conformance: deliberate failure (attempt ${ctx.attempt})`);
      }),
      implementTask(this.slow, async ({ args }, ctx) => {
        const key = args[0] as string;
        this.record(key, ctx.taskId, ctx.attempt);
        const gate = this.gate(key);
        gate.started();
        await gate.released;
        return "finished";
      }),
      implementTask(this.probe, ({ args }, ctx) => {
        this.record(args[0] as string, ctx.taskId, ctx.attempt);
        return "ran";
      }),
    ];
  }

  get contracts(): AnyTaskContract[] {
    return [this.fail, this.slow, this.probe];
  }

  newToken(): string {
    return randomUUID();
  }

  callsOf(token: string): readonly Call[] {
    return this.calls.get(token) ?? [];
  }

  /** Resolves when the slow task with `token` has started. */
  started(token: string): Promise<void> {
    this.gate(token);
    return this.startedWaiters.get(token)!;
  }

  release(token: string): void {
    this.gate(token).release();
  }

  /** Let every slow task finish (cleanup). */
  releaseAll(): void {
    for (const gate of this.gates.values()) gate.release();
  }

  private record(token: string, taskId: string, attempt: number): void {
    const list = this.calls.get(token) ?? [];
    list.push({ taskId, attempt, at: Date.now() });
    this.calls.set(token, list);
  }

  private gate(token: string) {
    let gate = this.gates.get(token);
    if (!gate) {
      let started!: () => void;
      let release!: () => void;
      this.startedWaiters.set(token, new Promise<void>((resolve) => (started = resolve)));
      const released = new Promise<void>((resolve) => (release = resolve));
      gate = { started, release, released };
      this.gates.set(token, gate);
    }
    return gate;
  }
}
