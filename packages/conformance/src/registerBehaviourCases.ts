import { randomUUID } from "node:crypto";
import { type AnyTaskContract, retryDelayMs } from "@worker-toolbox/config";
import type { TaskView } from "@worker-toolbox/runtime";
import { encodeTaskMessage, H, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import { beforeAll, describe, it } from "vitest";
import { samplesFor } from "./checks/contractChecks.js";
import { ConformanceFailure, failIfAny } from "./failure.js";
import { registerCanvasCases } from "./registerCanvasCases.js";
import { requireWorker } from "./registerWiringCases.js";
import type { ConformanceRun } from "./run.js";
import { FAIL_POLICY } from "./synthetic.js";
import { sleep, withDeadline } from "./timing.js";
import type { ConformanceOptions } from "./types.js";

const PREPARE_MS = 180_000;
const CLOSE_MS = 45_000;

const STORE_FIX =
  "the worker must store each outcome in the result backend before it acknowledges the message " +
  "(createWorker does); startWorker must use the run config as given (database.url is the worker role's) " +
  "and register every task it is given";

/** Round trip, failure path and shutdown: tasks sent through the real broker to the real worker. */
export function registerBehaviourCases(run: ConformanceRun, options: ConformanceOptions): void {
  const caseMs = run.resultTimeoutMs + run.startTimeoutMs + 15_000;

  describe("round trip", () => {
    beforeAll(() => run.prepare(), PREPARE_MS);

    for (const contract of run.serviceContracts) {
      it(
        `runs ${contract.name} end to end: send → worker → SUCCESS row`,
        async (ctx) => {
          await requireWorker(run, ctx);
          const sample = samplesFor(contract, options.samples).samples[0]!;
          const producer = await run.producer();
          const receipt = await producer.send(
            contract,
            (sample.args ?? []) as never,
            (sample.kwargs ?? {}) as never,
          );
          const row = await run.finalRow(receipt.id);
          if (!row)
            throw new ConformanceFailure(await run.diagnosis.explainMissingRow(receipt.id), STORE_FIX);
          expectStatus(
            row,
            "SUCCESS",
            contract,
            "make the handler succeed for the sample arguments, or pass samples it accepts",
          );
        },
        caseMs,
      );
    }

    it(
      "writes results as the least-privilege worker role (worker-toolbox db grants)",
      async (ctx) => {
        await requireWorker(run, ctx);
        const writers = await run.resultWriters();
        const others = [...writers].filter(([role]) => role !== run.workerRole);
        if (writers.size > 0 && others.length === 0) return;
        const problem =
          writers.size === 0
            ? `The worker wrote no result rows at all, so it never used the role ${run.workerRole} the suite gave it in config.database.url.`
            : `Result rows were written by ${others.map(([role, n]) => `${role} (${n} writes)`).join(", ")}, not only ` +
              `by the least-privilege role ${run.workerRole} from config.database.url.`;
        throw new ConformanceFailure(
          problem,
          "create the worker's pool from config.database.url (createWorker does); in production that URL names " +
            "the least-privilege role from `worker-toolbox db grants`, never the migration owner or a superuser",
        );
      },
      caseMs,
    );
  });

  registerCanvasCases(run);

  describe("failures", () => {
    beforeAll(() => run.prepare(), PREPARE_MS);

    // One failing task serves both cases: the retries, then where it ends.
    let failing: Promise<{ taskId: string; token: string; row: TaskView | undefined }> | undefined;
    const sendFailing = () => {
      failing ??= (async () => {
        const token = run.synthetic.newToken();
        const producer = await run.producer();
        const { id } = await producer.send(run.synthetic.fail, [token] as never);
        const budget = FAIL_POLICY.backoffBaseMs * 2 ** FAIL_POLICY.maxAttempts;
        return { taskId: id, token, row: await run.finalRow(id, run.resultTimeoutMs + budget) };
      })();
      return failing;
    };

    it(
      `retries a task that throws with growing delays, ${FAIL_POLICY.maxAttempts} attempts in all`,
      async (ctx) => {
        await requireWorker(run, ctx);
        const { taskId, token } = await sendFailing();
        const calls = run.synthetic.callsOf(token);
        const name = run.synthetic.fail.name;
        if (calls.length === 0) {
          throw new ConformanceFailure(
            `The worker never ran ${name}: ${await run.diagnosis.explainMissingRow(taskId)}`,
            "startWorker must register every task it is given (the suite adds its own tasks to the service's)",
          );
        }
        const problems: string[] = [];
        if (calls.length !== FAIL_POLICY.maxAttempts)
          problems.push(`it ran ${calls.length} time(s); the retry policy allows ${FAIL_POLICY.maxAttempts}`);
        const attempts = calls.map((call) => call.attempt);
        const expectedAttempts = calls.map((_, index) => index + 1);
        if (attempts.join() !== expectedAttempts.join())
          problems.push(
            `the attempts were numbered ${attempts.join(", ")}; expected ${expectedAttempts.join(", ")}`,
          );
        for (let index = 1; index < calls.length; index++) {
          const gap = calls[index]!.at - calls[index - 1]!.at;
          const planned = retryDelayMs({ ...FAIL_POLICY }, index, () => 1);
          // The worker may start a retry up to 20 ms before its eta; allow for timers on a busy machine too.
          if (gap < planned - 40)
            problems.push(
              `retry ${index} ran ${gap} ms after the attempt before it; the backoff asks for ${planned} ms`,
            );
        }
        failIfAny(
          problems,
          `${name} (always throws) was not retried as its retry policy says`,
          "let the worker retry failed tasks through the delay rungs (createWorker does); a task must not be " +
            "re-run at once by requeueing it",
        );
      },
      caseMs,
    );

    it(
      "dead-letters it after the last attempt with reason retries-exhausted and stores a FAILURE row",
      async (ctx) => {
        await requireWorker(run, ctx);
        const { taskId, row } = await sendFailing();
        const name = run.synthetic.fail.name;
        const letter = await run.diagnosis.deadLetter(taskId, 2_000);
        const problems: string[] = [];
        const deadQueue = run.names.serviceDeadLetterQueue(run.service);
        if (!letter) problems.push(`no dead letter for it reached ${deadQueue}`);
        else {
          const headers = letter.properties.headers ?? {};
          if (headers[H.reason] !== "retries-exhausted")
            problems.push(
              `its dead letter says ${H.reason}=${JSON.stringify(headers[H.reason])}, not "retries-exhausted"`,
            );
          if (Number(headers[H.attempts]) !== FAIL_POLICY.maxAttempts)
            problems.push(`its dead letter says ${H.attempts}=${JSON.stringify(headers[H.attempts])}`);
        }
        if (!row) problems.push(await run.diagnosis.explainMissingRow(taskId));
        else if (row.status !== "FAILURE") problems.push(`its result row is ${row.status}, not FAILURE`);
        else if (!row.result?.error?.message?.includes("deliberate failure"))
          problems.push(
            `its FAILURE row does not carry the task's error (got ${JSON.stringify(row.result?.error)})`,
          );
        failIfAny(
          problems,
          `${name} (always throws) did not end as a dead letter with a reason and a FAILURE row`,
          `after the last attempt the worker must publish the message to ${deadQueue} with ${H.reason} headers ` +
            "and store a FAILURE row before acknowledging it (createWorker does)",
        );
      },
      caseMs,
    );

    it(
      "dead-letters a poison message (invalid JSON) with reason malformed and keeps running",
      async (ctx) => {
        await requireWorker(run, ctx);
        const probe = run.synthetic.probe.name;
        const poisonId = randomUUID();
        await run.publishRaw(probe, Buffer.from('[["not json"', "utf8"), {
          contentType: "application/json",
          contentEncoding: "utf-8",
          correlationId: poisonId,
          deliveryMode: 2,
          headers: { lang: "py", task: probe, id: poisonId },
        });
        const problems: string[] = [];
        const deadQueue = run.names.serviceDeadLetterQueue(run.service);
        const letter = await run.diagnosis.deadLetter(poisonId);
        if (!letter) problems.push(`it did not reach ${deadQueue} within ${run.resultTimeoutMs} ms`);
        else if (letter.properties.headers?.[H.reason] !== "malformed")
          problems.push(
            `its dead letter says ${H.reason}=${JSON.stringify(letter.properties.headers?.[H.reason])}, not "malformed"`,
          );
        // Still alive: the next task runs.
        const token = run.synthetic.newToken();
        const producer = await run.producer();
        const { id } = await producer.send(run.synthetic.probe, [token] as never);
        const row = await run.finalRow(id);
        if (row?.status !== "SUCCESS")
          problems.push(
            `the next task did not succeed: ${row ? `status ${row.status}` : await run.diagnosis.explainMissingRow(id)}`,
          );
        failIfAny(
          problems,
          "A message that is not valid JSON was not handled safely",
          `the worker must dead-letter undecodable messages to ${deadQueue} with ${H.reason}=malformed and ` +
            "acknowledge them, never crash, requeue or drop them (createWorker does)",
        );
      },
      caseMs,
    );

    it(
      "does not run an expired task and records it REVOKED",
      async (ctx) => {
        await requireWorker(run, ctx);
        const probe = run.synthetic.probe;
        const token = run.synthetic.newToken();
        const message = newTaskMessage({
          task: probe.name,
          args: [token],
          expires: new Date(Date.now() - 60_000),
        });
        const { content, properties } = encodeTaskMessage(message);
        // As from a publisher that sets no per-message TTL (older Celery): only the worker can stop it.
        const { expiration: _ttl, ...rest } = properties;
        await run.publishRaw(probe.name, content, rest);
        const row = await run.finalRow(message.id);
        const problems: string[] = [];
        if (run.synthetic.callsOf(token).length > 0)
          problems.push("the worker ran it although it had expired");
        if (!row) problems.push(await run.diagnosis.explainMissingRow(message.id));
        else if (row.status !== "REVOKED") problems.push(`its result row is ${row.status}, not REVOKED`);
        failIfAny(
          problems,
          `A task whose expires (${message.expires?.toISOString()}) had passed was not skipped`,
          "the worker must check the `expires` header before running a task and store REVOKED instead (createWorker does)",
        );
      },
      caseMs,
    );
  });

  describe("shutdown", () => {
    beforeAll(() => run.prepare(), PREPARE_MS);

    it(
      "drains in-flight work on close() (SIGTERM): the running task finishes and its row is stored, or its message returns to the queue",
      async (ctx) => {
        await requireWorker(run, ctx);
        const slow = run.synthetic.slow;
        const token = run.synthetic.newToken();
        const producer = await run.producer();
        const { id } = await producer.send(slow, [token] as never);
        const started = await Promise.race([
          run.synthetic.started(token).then(() => true),
          sleep(run.resultTimeoutMs).then(() => false),
        ]);
        if (!started) {
          throw new ConformanceFailure(
            `The worker never started ${slow.name}: ${await run.diagnosis.explainMissingRow(id)}`,
            "startWorker must register every task it is given (the suite adds its own tasks to the service's)",
          );
        }
        const closing = run.closeWorker();
        // The task is still running when close() begins; it finishes shortly after.
        await sleep(200);
        run.synthetic.release(token);
        await withDeadline(closing, CLOSE_MS, "worker.close()").catch((error: Error) => {
          throw new ConformanceFailure(
            `close() did not finish: ${error.message}`,
            "close() must stop consuming, wait for running tasks (up to worker.shutdownGraceMs), store their results and return",
          );
        });
        const row = await run.finalRow(id, 2_000);
        if (row?.status === "SUCCESS") return;
        const queue = await run.diagnosis.queueState(run.serviceQueue);
        if (queue && queue.ready > 0) return; // Returned to the queue: another worker runs it.
        throw new ConformanceFailure(
          `close() returned, but ${slow.name} (running when close() began) has no SUCCESS row ` +
            `(${row ? `status ${row.status}` : "no row"}) and its message is not back in ${run.serviceQueue}: the work is lost.`,
          "on SIGTERM call worker.close(): it stops consuming, lets running tasks finish, stores their results and " +
            "acknowledges only then; unfinished messages must return to the queue",
        );
      },
      caseMs + CLOSE_MS,
    );
  });
}

function expectStatus(row: TaskView, status: "SUCCESS", contract: AnyTaskContract, fix: string): void {
  if (row.status === status) return;
  const error = row.result?.error;
  const why = error ? `: ${error.type}: ${error.message}` : "";
  throw new ConformanceFailure(`${contract.name} ended ${row.status}, not ${status}${why}`, fix);
}
