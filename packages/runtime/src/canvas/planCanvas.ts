import { randomUUID } from "node:crypto";
import { type AnyTaskContract, serviceBindingKey } from "@worker-toolbox/config";
import { contractTimeLimit } from "../producer/prepareSend.js";
import type { NewTaskMessageInit } from "../protocol/celeryMessage.js";
import { type CelerySignatureDict, toCelerySignature } from "./celerySignature.js";
import type { AnySignature } from "./signature.js";
import type { Canvas, Chord } from "./workflows.js";

/**
 * The messages a workflow starts with, exactly as Celery 5.2's canvas publishes them (captured from
 * `chain(...).apply_async()` etc. against the toolbox's topology), so a Python worker and a TypeScript
 * worker run them alike. Pure: ids come from `newId`, nothing is sent.
 *
 *   signature  one message; its links in `embed.callbacks` / `embed.errbacks`
 *   chain      the first step's message; the rest, last first, in `embed.chain`
 *   group      one message per member, each with the group id and its index
 *   chord      the header as a group whose members carry the body in `embed.chord`, then
 *              `celery.chord_unlock(group_id, body, result=[...])` in one second, routed to the body's
 *              service queue: whichever worker consumes it (Celery's, or ours) polls the header's results
 *              and sends the body with their list once all are done
 */
export interface PlannedMessage {
  init: NewTaskMessageInit;
  routingKey: string;
  /** The contract the message calls; none for `celery.chord_unlock`. */
  contract?: AnyTaskContract;
}

export interface CanvasReceipt {
  /** The id whose result is the workflow's: the signature's, a chain's last step's, a chord's body's, a group's id. */
  id: string;
  /** Every task id the workflow will run, in order (chord: header, then body). */
  ids: string[];
  /** The group id of a group or a chord's header. */
  groupId?: string;
}

export interface CanvasPlan {
  messages: PlannedMessage[];
  receipt: CanvasReceipt;
}

export const CHORD_UNLOCK = "celery.chord_unlock";
/** Celery's `result_chord_retry_interval` default: the first poll of a chord's header, in ms. */
const CHORD_UNLOCK_COUNTDOWN_MS = 1_000;

export function planCanvas(canvas: Canvas, newId: () => string = randomUUID): CanvasPlan {
  const idOf = (sig: AnySignature) => sig.options.id ?? newId();
  switch (canvas.kind) {
    case "signature": {
      const message = messageOf(canvas, idOf(canvas), idOf);
      return { messages: [message], receipt: { id: message.init.id!, ids: [message.init.id!] } };
    }
    case "chain": {
      const [first, ...rest] = canvas.steps as [AnySignature, ...AnySignature[]];
      const firstId = idOf(first);
      const dicts = rest.map((step) => toCelerySignature(step, idOf));
      const message = messageOf(first, firstId, idOf);
      // Celery pops the next step from the end of the list.
      message.init.embed = { ...message.init.embed, chain: [...dicts].reverse() };
      const ids = [firstId, ...dicts.map(taskIdOf)];
      return { messages: [message], receipt: { id: ids[ids.length - 1]!, ids } };
    }
    case "group": {
      const groupId = newId();
      const messages = canvas.members.map((member, index) =>
        messageOf(member, idOf(member), idOf, { id: groupId, index }),
      );
      return { messages, receipt: { id: groupId, ids: messages.map((m) => m.init.id!), groupId } };
    }
    case "chord":
      return planChord(canvas, newId, idOf);
  }
}

function planChord(chord: Chord, newId: () => string, idOf: (sig: AnySignature) => string): CanvasPlan {
  const groupId = newId();
  const body = toCelerySignature(chord.body, idOf);
  const header = chord.header.members.map((member, index) => {
    const message = messageOf(member, idOf(member), idOf, { id: groupId, index });
    message.init.embed = { ...message.init.embed, chord: body };
    return message;
  });
  const headerIds = header.map((m) => m.init.id!);
  const unlock: PlannedMessage = {
    init: {
      task: CHORD_UNLOCK,
      id: newId(),
      args: [groupId, body],
      // GroupResult.as_tuple() of each header task: ((id, parent), None).
      kwargs: { interval: null, max_retries: null, result: headerIds.map((id) => [[id, null], null]) },
      countdownMs: CHORD_UNLOCK_COUNTDOWN_MS,
      ignoreResult: true,
    },
    // What Celery publishes it with: the binding key of the body's service queue.
    routingKey: serviceBindingKey(chord.body.contract.service),
  };
  return {
    messages: [...header, unlock],
    receipt: { id: taskIdOf(body), ids: [...headerIds, taskIdOf(body)], groupId },
  };
}

function messageOf(
  sig: AnySignature,
  id: string,
  idOf: (sig: AnySignature) => string,
  group?: { id: string; index: number },
): PlannedMessage {
  const { countdownMs, eta, expires, priority } = sig.options;
  const init: NewTaskMessageInit = {
    task: sig.contract.name,
    id,
    args: [...sig.args],
    kwargs: { ...sig.kwargs },
    countdownMs,
    eta,
    expires,
    priority,
    timeLimit: contractTimeLimit(sig.contract),
    embed: {
      callbacks: sig.callbacks.length > 0 ? sig.callbacks.map((cb) => toCelerySignature(cb, idOf)) : null,
      errbacks: sig.errbacks.length > 0 ? sig.errbacks.map((eb) => toCelerySignature(eb, idOf)) : null,
    },
  };
  if (group) init.group = group;
  return { init, routingKey: sig.contract.name, contract: sig.contract };
}

const taskIdOf = (dict: CelerySignatureDict) => dict.options.task_id as string;

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
