import {
  type AnyTaskContract,
  type TaskArgs,
  type TaskKwargs,
  type TaskResult,
  validateCall,
} from "@worker-toolbox/config";
import { z } from "zod";

/**
 * Signatures: a task call that is described but not sent, the unit of Celery's canvas (celery/canvas.py).
 * A workflow step receives the previous step's result prepended to its arguments, unless the step is
 * immutable; so there are three kinds, and the types say where each fits:
 *
 *   signature(add, [2, 3])     complete arguments; starts a chain, is a group or chord member
 *   partial(mul, [10])         every argument but the first, which the previous step's result fills
 *   immutable(notify, ["ok"])  complete arguments; ignores what came before, so it fits anywhere
 *
 * `In` is the type a partial signature needs prepended (its first argument; unknown for the others), `Out`
 * its result.
 */
export type SignatureMode = "complete" | "immutable" | "partial";

export interface SignatureOptions {
  /** The task id (a UUID); default a new one when the workflow is planned. */
  id?: string;
  /** Run no earlier than this many ms after the step is sent. */
  countdownMs?: number;
  eta?: Date;
  /** Drop the task unrun after this moment, or this many ms after the step is sent. */
  expires?: Date | number;
  priority?: number;
}

export interface Signature<In = unknown, Out = unknown, M extends SignatureMode = SignatureMode> {
  readonly kind: "signature";
  readonly contract: AnyTaskContract;
  readonly mode: M;
  /** The arguments given; for a partial signature, all but the first. */
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly options: Readonly<SignatureOptions>;
  /** Run on success with this task's result prepended (Celery's `link`). */
  readonly callbacks: readonly AnySignature[];
  /** Run on failure with this task's id prepended (Celery's `link_error`, the calling convention every worker uses). */
  readonly errbacks: readonly AnySignature[];
  /** Type only: what this step needs prepended and what it returns. */
  readonly __types?: { in: (input: In) => void; out: Out };
  /** A copy that also runs `callback` with this task's result when it succeeds. */
  link(callback: Fed<Out>): Signature<In, Out, M>;
  /** A copy that also runs `errback` with this task's id (a string) when it fails. */
  linkError(errback: Fed<string>): Signature<In, Out, M>;
}

// biome-ignore lint/suspicious/noExplicitAny: any signature, for lists and constraints.
export type AnySignature = Signature<any, any, SignatureMode>;
/** A signature whose arguments are complete: sendable on its own, a group or chord member, a chain's start. */
export type CompleteSignature<Out = unknown> = Signature<unknown, Out, "complete" | "immutable">;
/** A signature that can follow a step returning `T`: immutable, or partial with a first argument accepting T. */
export type Fed<T> = Signature<unknown, unknown, "immutable"> | Signature<T, unknown, "partial">;
/** The result type of a signature. */
export type OutOf<S> = S extends Signature<infer _In, infer Out, SignatureMode> ? Out : never;

type FirstOf<T> = T extends readonly [infer F, ...unknown[]] ? F : T extends readonly (infer E)[] ? E : never;
type RestOf<T> = T extends readonly [unknown, ...infer R] ? R : T;

function build<In, Out, M extends SignatureMode>(
  fields: Omit<Signature<In, Out, M>, "kind" | "link" | "linkError" | "__types">,
): Signature<In, Out, M> {
  const sig: Signature<In, Out, M> = {
    kind: "signature",
    ...fields,
    link: (callback) => build({ ...fields, callbacks: [...fields.callbacks, callback] }),
    linkError: (errback) => build({ ...fields, errbacks: [...fields.errbacks, errback] }),
  };
  return Object.freeze(sig);
}

/** A task with complete arguments, validated against its contract now. */
export function signature<C extends AnyTaskContract>(
  contract: C,
  args: TaskArgs<C>,
  kwargs?: TaskKwargs<C>,
  options: SignatureOptions = {},
): Signature<unknown, TaskResult<C>, "complete"> {
  validateCall(contract, args, kwargs ?? {});
  return build({
    contract,
    mode: "complete",
    args,
    kwargs: kwargs ?? {},
    options,
    callbacks: [],
    errbacks: [],
  });
}

/** A task with complete arguments that ignores the previous step's result (Celery's `.si()`). */
export function immutable<C extends AnyTaskContract>(
  contract: C,
  args: TaskArgs<C>,
  kwargs?: TaskKwargs<C>,
  options: SignatureOptions = {},
): Signature<unknown, TaskResult<C>, "immutable"> {
  validateCall(contract, args, kwargs ?? {});
  return build({
    contract,
    mode: "immutable",
    args,
    kwargs: kwargs ?? {},
    options,
    callbacks: [],
    errbacks: [],
  });
}

/**
 * A task whose first argument is the previous step's result (Celery's `.s()` in a chain or callback).
 * The other arguments and the keyword arguments are validated now, the first one by the worker.
 */
export function partial<C extends AnyTaskContract>(
  contract: C,
  rest: RestOf<TaskArgs<C>>,
  kwargs?: TaskKwargs<C>,
  options: SignatureOptions = {},
): Signature<FirstOf<TaskArgs<C>>, TaskResult<C>, "partial"> {
  validatePartial(contract, rest as readonly unknown[], kwargs ?? {});
  return build({
    contract,
    mode: "partial",
    args: rest as readonly unknown[],
    kwargs: kwargs ?? {},
    options,
    callbacks: [],
    errbacks: [],
  });
}

/**
 * Validate all but the first positional argument, and the keyword arguments: the contract's tuple with its
 * first element accepting anything, so issue paths stay `args[1]`, `kwargs.x`.
 */
function validatePartial(contract: AnyTaskContract, rest: readonly unknown[], kwargs: unknown): void {
  const schema = contract.args;
  const items = schema instanceof z.ZodTuple ? (schema.def.items as readonly z.ZodType[]) : undefined;
  const args = items
    ? z.tuple([z.unknown(), ...items.slice(1)] as [z.ZodType, ...z.ZodType[]], schema.def.rest ?? undefined)
    : z.array(z.unknown());
  validateCall({ ...contract, args, argNames: [] } as AnyTaskContract, [undefined, ...rest], kwargs);
}
