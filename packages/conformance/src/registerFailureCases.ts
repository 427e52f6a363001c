import { randomUUID } from "node:crypto";
import { retryDelayMs } from "@worker-toolbox/config";
import type { TaskView } from "@worker-toolbox/runtime";
import { encodeTaskMessage, H, newTaskMessage } from "@worker-toolbox/runtime/protocol";
import { it, type TestContext } from "vitest";
import { describeCaseGroup, requireWorker } from "./caseGroup.js";
import { ConformanceFailure, failIfAny } from "./failure.js";
import type { ConformanceRun } from "./run.js";
import { FAIL_BUDGET_MS, FAIL_POLICY } from "./synthetic.js";

/** The one failing task both retry cases watch: its id, its token and the row it ended with. */
type FailingTask = () => Promise<{ taskId: string; token: string; row: TaskView | undefined }>;

/** Failures: retries with backoff, the dead letter at the end, a poison message, an expired task. */
export function registerFailureCases(run: ConformanceRun): void {
  const caseMs = run.resultTimeoutMs + run.startTimeoutMs + 15_000;
  describeCaseGroup("failures", run, () => {
    const failing = failingTask(run);
    it(
      `retries a task that throws with growing delays, ${FAIL_POLICY.maxAttempts} attempts in all`,
      (ctx) => checkRetries(run, failing, ctx),
      caseMs,
    );
    it(
      "dead-letters it after the last attempt with reason retries-exhausted and stores a FAILURE row",
      (ctx) => checkRetriesExhausted(run, failing, ctx),
      caseMs,
    );
    it(
      "dead-letters a poison message (invalid JSON) with reason malformed and keeps running",
      (ctx) => checkPoisonMessage(run, ctx),
      caseMs,
    );
    it("does not run an expired task and records it REVOKED", (ctx) => checkExpired(run, ctx), caseMs);
  });
}

/** Sent once, on first use: one failing task serves both cases (the retries, then where it ends). */
function failingTask(run: ConformanceRun): FailingTask {
  let failing: ReturnType<FailingTask> | undefined;
  return () => {
    failing ??= (async () => {
      const token = run.synthetic.newToken();
      const producer = await run.producer();
      const { id } = await producer.send(run.synthetic.fail, [token] as never);
      return { taskId: id, token, row: await run.finalRow(id, run.resultTimeoutMs + FAIL_BUDGET_MS) };
    })();
    return failing;
  };
}

async function checkRetries(run: ConformanceRun, failing: FailingTask, ctx: TestContext): Promise<void> {
  await requireWorker(run, ctx);
  const { taskId, token } = await failing();
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
}

async function checkRetriesExhausted(
  run: ConformanceRun,
  failing: FailingTask,
  ctx: TestContext,
): Promise<void> {
  await requireWorker(run, ctx);
  const { taskId, row } = await failing();
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
}

async function checkPoisonMessage(run: ConformanceRun, ctx: TestContext): Promise<void> {
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
}

async function checkExpired(run: ConformanceRun, ctx: TestContext): Promise<void> {
  await requireWorker(run, ctx);
  const probe = run.synthetic.probe;
  const token = run.synthetic.newToken();
  const message = newTaskMessage({ task: probe.name, args: [token], expires: new Date(Date.now() - 60_000) });
  const { content, properties } = encodeTaskMessage(message);
  // As from a publisher that sets no per-message TTL (older Celery): only the worker can stop it.
  const { expiration: _ttl, ...rest } = properties;
  await run.publishRaw(probe.name, content, rest);
  const row = await run.finalRow(message.id);
  const problems: string[] = [];
  if (run.synthetic.callsOf(token).length > 0) problems.push("the worker ran it although it had expired");
  if (!row) problems.push(await run.diagnosis.explainMissingRow(message.id));
  else if (row.status !== "REVOKED") problems.push(`its result row is ${row.status}, not REVOKED`);
  failIfAny(
    problems,
    `A task whose expires (${message.expires?.toISOString()}) had passed was not skipped`,
    "the worker must check the `expires` header before running a task and store REVOKED instead (createWorker does)",
  );
}
