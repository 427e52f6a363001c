import { ToolboxError } from "@worker-toolbox/config";
import type { AnySignature, CompleteSignature, Fed, OutOf } from "./signature.js";

/**
 * Workflows over signatures, as Celery's canvas runs them (a Python worker executes them the same way):
 *
 *   chain(a, b, c)        a, then b with a's result prepended, then c with b's       → c's result
 *   group(a, b)           a and b in parallel, one group id                          → [a's, b's]
 *   chord([a, b], c)      a and b in parallel, then c with the list of their results → c's result
 *
 * The types check every hand-over: a chain step must accept the previous step's result as its first
 * argument (or be immutable), a chord's body must accept the list of its header's results.
 */
export interface Chain<Out = unknown> {
  readonly kind: "chain";
  readonly steps: readonly AnySignature[];
  /** Type only. */
  readonly __out?: Out;
}

export interface Group<Outs extends readonly unknown[] = readonly unknown[]> {
  readonly kind: "group";
  readonly members: readonly AnySignature[];
  /** Type only. */
  readonly __out?: Outs;
}

export interface Chord<Out = unknown> {
  readonly kind: "chord";
  readonly header: Group;
  readonly body: AnySignature;
  /** Type only. */
  readonly __out?: Out;
}

/** Anything `producer.apply` sends. */
export type Canvas = CompleteSignature | Chain | Group | Chord;

/** Each step checked against the result of the one before; a step that does not fit shows what would. */
type Steps<Prev, T extends readonly unknown[]> = T extends readonly [infer Head, ...infer Tail]
  ? readonly [Head extends Fed<Prev> ? Head : Fed<Prev>, ...Steps<OutOf<Head>, Tail>]
  : readonly [];
type Last<T extends readonly unknown[], Else> = T extends readonly [...unknown[], infer L] ? L : Else;
type Outs<T extends readonly unknown[]> = { -readonly [I in keyof T]: OutOf<T[I]> };

/** Steps run one after the other, each receiving the previous result as its first argument. */
export function chain<First extends CompleteSignature, const Rest extends readonly AnySignature[]>(
  first: First,
  ...rest: Rest & Steps<OutOf<First>, Rest>
): Chain<OutOf<Last<Rest, First>>> {
  const steps = [first, ...rest] as AnySignature[];
  for (const [index, step] of steps.entries()) {
    if (index === 0 ? step.mode === "partial" : step.mode === "complete") throw misplaced(step, index);
  }
  return Object.freeze({ kind: "chain" as const, steps: Object.freeze(steps) });
}

/** Signatures run in parallel under one group id; the group's result is the list of theirs, in order. */
export function group<const Members extends readonly CompleteSignature[]>(
  ...members: Members
): Group<Outs<Members>> {
  if (members.length === 0)
    throw new ToolboxError("MESSAGE_INVALID", "A group needs at least one signature.");
  for (const [index, member] of (members as readonly AnySignature[]).entries()) {
    if (member.mode === "partial") throw misplaced(member, index);
  }
  return Object.freeze({ kind: "group" as const, members: Object.freeze([...members]) });
}

/** A group, then `body` with the list of the group's results prepended, once every member is done. */
export function chord<Outs extends readonly unknown[], Body extends Fed<Outs>>(
  header: Group<Outs>,
  body: Body,
): Chord<OutOf<Body>> {
  if ((body as AnySignature).mode === "complete") throw misplaced(body, 1);
  return Object.freeze({ kind: "chord" as const, header: header as Group, body });
}

function misplaced(step: AnySignature, index: number): ToolboxError {
  const first = index === 0;
  return new ToolboxError(
    "MESSAGE_INVALID",
    `${step.contract.name} cannot be at position ${index}: it is a ${step.mode} signature, and ${
      first ? "nothing comes before it" : "the previous result would be prepended to its complete arguments"
    }.`,
    {
      hint: first
        ? "start a workflow with signature(contract, args) or immutable(...)"
        : "use partial(contract, restArgs) to receive the previous result, or immutable(...) to ignore it",
    },
  );
}

/** What sending a workflow returns (defined here, beside the workflows, so the producer's types need no planner). */
export interface CanvasReceipt {
  /** The id whose result is the workflow's: the signature's, a chain's last step's, a chord's body's, a group's id. */
  id: string;
  /** Every task id the workflow will run, in order (chord: header, then body). */
  ids: string[];
  /** The group id of a group or a chord's header. */
  groupId?: string;
}
