import { randomUUID } from "node:crypto";
import type { AnyTaskContract } from "@worker-toolbox/config";
import { applySignature, type PlannedMessage } from "./applySignature.js";
import { type CelerySignatureDict, toCelerySignature } from "./celerySignature.js";
import type { AnySignature } from "./signature.js";
import type { Canvas, CanvasReceipt } from "./workflows.js";

export type { CanvasReceipt } from "./workflows.js";

/**
 * The messages a workflow starts with, exactly as Celery 5.2's canvas publishes them (captured from
 * `chain(...).apply_async()` etc. against the toolbox's topology), so a Python worker and a TypeScript
 * worker run them alike. The workflow is written as Celery's signature dicts (`celery.chain`,
 * `celery.group`, `celery.chord`) and applied by applySignature.ts, the one place workflows become
 * messages:
 *
 *   signature  one message; its links in `embed.callbacks` / `embed.errbacks`
 *   chain      the first step's message; the rest, last first, in `embed.chain`
 *   group      one message per member, each with the group id and its index
 *   chord      the header as a group whose members carry the body in `embed.chord`, then
 *              `celery.chord_unlock(group_id, body, result=[...])` in one second, routed to the body's
 *              service queue: whichever worker consumes it (Celery's, or ours) polls the header's results
 *              and sends the body with their list once all are done
 */
export interface CanvasPlan {
  messages: PlannedMessage[];
  receipt: CanvasReceipt;
}

export function planCanvas(canvas: Canvas, newId: () => string = randomUUID): CanvasPlan {
  const idOf = (sig: AnySignature) => sig.options.id ?? newId();
  const dict = canvasDict(canvas, idOf, newId);
  const messages = applySignature(dict, { newId });
  const taskId = (d: CelerySignatureDict) => d.options.task_id as string;
  switch (canvas.kind) {
    case "signature":
      return { messages, receipt: { id: taskId(dict), ids: [taskId(dict)] } };
    case "chain": {
      const ids = (dict.kwargs.tasks as CelerySignatureDict[]).map(taskId);
      return { messages, receipt: { id: ids[ids.length - 1]!, ids } };
    }
    case "group": {
      const ids = (dict.kwargs.tasks as CelerySignatureDict[]).map(taskId);
      return { messages, receipt: { id: taskId(dict), ids, groupId: taskId(dict) } };
    }
    case "chord": {
      const header = (dict.kwargs.header as CelerySignatureDict).kwargs.tasks as CelerySignatureDict[];
      const body = taskId(dict.kwargs.body as CelerySignatureDict);
      const groupId = taskId(dict.kwargs.header as CelerySignatureDict);
      return { messages, receipt: { id: body, ids: [...header.map(taskId), body], groupId } };
    }
  }
}

/** A workflow as Celery's dicts, every task id assigned. */
function canvasDict(
  canvas: Canvas,
  idOf: (sig: AnySignature) => string,
  newId: () => string,
): CelerySignatureDict {
  const composite = (task: string, kwargs: Record<string, unknown>, type: string, id?: string) => ({
    task,
    args: [],
    kwargs,
    options: id ? { task_id: id } : {},
    subtask_type: type,
    immutable: false,
  });
  const group = (members: readonly AnySignature[]) =>
    composite("celery.group", { tasks: members.map((m) => toCelerySignature(m, idOf)) }, "group", newId());
  switch (canvas.kind) {
    case "signature":
      return toCelerySignature(canvas, idOf);
    case "chain":
      return composite(
        "celery.chain",
        { tasks: canvas.steps.map((s) => toCelerySignature(s, idOf)) },
        "chain",
      );
    case "group":
      return group(canvas.members);
    case "chord":
      return composite(
        "celery.chord",
        { header: group(canvas.header.members), body: toCelerySignature(canvas.body, idOf) },
        "chord",
      );
  }
}

/** Every contract a workflow calls, callbacks and errbacks included (the producer must know each). */
export function contractsOf(canvas: Canvas): AnyTaskContract[] {
  const found = new Set<AnyTaskContract>();
  const visit = (sig: AnySignature): void => {
    found.add(sig.contract);
    for (const link of [...sig.callbacks, ...sig.errbacks]) visit(link);
  };
  if (canvas.kind === "signature") visit(canvas);
  else if (canvas.kind === "chain") canvas.steps.forEach(visit);
  else if (canvas.kind === "group") canvas.members.forEach(visit);
  else {
    canvas.header.members.forEach(visit);
    visit(canvas.body);
  }
  return [...found];
}
