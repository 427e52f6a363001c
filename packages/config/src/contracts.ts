import { z } from "zod";
import { bindArguments, checkArgNames } from "./bindArguments.js";
import { parseCeleryRate } from "./celeryRate.js";
import { ToolboxError } from "./errors.js";
import { type ParsedTaskName, parseTaskName } from "./names.js";
import type { RetryPolicy } from "./schema.js";

/**
 * A task contract: the name and the zod schemas of a task's positional arguments, keyword arguments and
 * result. Producers and workers import the same contract, so a bad call fails where it is made, before
 * anything is published (the "stub task" of the design history), and TypeScript infers every type.
 * Pass ids and versions of objects, not whole objects: arguments travel through the broker and the
 * result table.
 */
type ArgsSchema = z.ZodType<unknown[]>;
type KwargsSchema = z.ZodType<Record<string, unknown>>;

export interface TaskExample<A extends ArgsSchema, K extends KwargsSchema> {
  args?: z.input<A>;
  kwargs?: z.input<K>;
}

export interface TaskContract<
  N extends string = string,
  A extends ArgsSchema = ArgsSchema,
  K extends KwargsSchema = KwargsSchema,
  R extends z.ZodType = z.ZodType,
> extends ParsedTaskName {
  readonly name: N;
  readonly args: A;
  readonly kwargs: K;
  readonly result: R;
  /**
   * Names of the positional arguments, in order (empty: none named). A caller may pass any of them by
   * keyword, as Python's positional-or-keyword parameters: `echo.delay(value=x)` is `echo.delay(x)`.
   */
  readonly argNames: readonly string[];
  readonly description: string | undefined;
  /** Sample calls; validated at definition, used by the conformance suite's round trips. */
  readonly examples: readonly TaskExample<A, K>[];
  /** Skip execution when a SUCCESS result for the task id already exists (duplicates after a crash). */
  readonly idempotent: boolean;
  /** Overrides of the configured retry policy for this task. */
  readonly retry: Partial<RetryPolicy>;
  /** Celery's [hard, soft] time limits, in milliseconds. */
  readonly timeLimitMs: { hard: number | null; soft: number | null };
  /** Celery's `rate_limit`: at most this many runs a second in one worker; null for no limit. */
  readonly rateLimit: number | null;
  /** Write a STARTED row when the task starts (Celery's `track_started`); null: the worker's config decides. */
  readonly trackStarted: boolean | null;
}

// biome-ignore lint/suspicious/noExplicitAny: a contract of any shape, for registries and lists.
export type AnyTaskContract = TaskContract<string, any, any, any>;
export type TaskArgs<C extends AnyTaskContract> = z.input<C["args"]>;
export type TaskKwargs<C extends AnyTaskContract> = z.input<C["kwargs"]>;
export type TaskResult<C extends AnyTaskContract> = z.output<C["result"]>;
/** What a handler receives after validation. */
export type ParsedArgs<C extends AnyTaskContract> = z.output<C["args"]>;
export type ParsedKwargs<C extends AnyTaskContract> = z.output<C["kwargs"]>;

/** One name per element of a tuple type (a homomorphic mapped type keeps it a tuple). */
type NamesOf<T> = { readonly [I in keyof T]-?: string };
/** One name per positional argument of the tuple `A`. */
export type ArgNames<A extends ArgsSchema> = NamesOf<z.input<A>>;

export interface DefineTaskOptions<
  N extends string,
  A extends ArgsSchema,
  K extends KwargsSchema,
  R extends z.ZodType,
> {
  name: N;
  /** Positional arguments as a zod tuple; omit for none. */
  args?: A;
  /** Keyword arguments as a zod object; omit for none. */
  kwargs?: K;
  /**
   * The Python parameter name of each positional argument, in order, so a Python caller may pass them by
   * keyword too (`echo.delay(value=x)` as well as `echo.delay(x)`); the handler gets the same tuple.
   */
  argNames?: ArgNames<A>;
  result: R;
  description?: string;
  examples?: TaskExample<A, K>[];
  idempotent?: boolean;
  retry?: Partial<RetryPolicy>;
  timeLimitMs?: { hard?: number; soft?: number };
  /**
   * Celery's `rate_limit` (`"10/m"`, `"5/s"`, `"100/h"` or runs a second): each worker starts at most this many
   * runs of the task in that time; the others wait in the worker, unacknowledged, for their turn. Remote
   * control's `rate_limit` changes it while a worker runs.
   */
  rateLimit?: string | number;
  /** Write a STARTED row when the task starts (Celery's per-task `track_started`); default: `worker.trackStarted`. */
  trackStarted?: boolean;
}

export function defineTask<
  N extends string,
  R extends z.ZodType,
  A extends ArgsSchema = z.ZodTuple<[], null>,
  K extends KwargsSchema = z.ZodObject<Record<string, never>, z.core.$strict>,
>(options: DefineTaskOptions<N, A, K, R>): TaskContract<N, A, K, R> {
  const parsed = parseTaskName(options.name);
  const args = options.args ?? (z.tuple([]) as unknown as A);
  const kwargs = options.kwargs ?? (z.strictObject({}) as unknown as K);
  const argNames = [...((options.argNames ?? []) as readonly string[])];
  checkArgNames(options.name, argNames, tupleLength(args), Object.keys(objectShape(kwargs)));
  const contract: TaskContract<N, A, K, R> = {
    ...parsed,
    name: options.name,
    args,
    kwargs,
    result: options.result,
    argNames: Object.freeze(argNames),
    description: options.description,
    examples: options.examples ?? [],
    idempotent: options.idempotent ?? false,
    retry: options.retry ?? {},
    timeLimitMs: { hard: options.timeLimitMs?.hard ?? null, soft: options.timeLimitMs?.soft ?? null },
    rateLimit: contractRate(options.name, options.rateLimit),
    trackStarted: options.trackStarted ?? null,
  };
  contract.examples.forEach((example, index) => {
    try {
      validateCall(contract, example.args ?? [], example.kwargs ?? {});
    } catch (error) {
      throw new ToolboxError(
        "TASK_ARGS_INVALID",
        `Example ${index} of task ${options.name} fails its own contract.`,
        {
          cause: error,
          hint: (error as Error).message,
        },
      );
    }
  });
  return Object.freeze(contract);
}

export interface ValidationIssue {
  /** `args[0]`, `kwargs.outputType`, `result.rows[2].id`. */
  path: string;
  message: string;
}

/** A call or a result that breaks its contract, with every failing path. */
export class ContractViolation extends ToolboxError {
  readonly task: string;
  readonly issues: readonly ValidationIssue[];
  constructor(code: "TASK_ARGS_INVALID" | "TASK_RESULT_INVALID", task: string, issues: ValidationIssue[]) {
    const what = code === "TASK_ARGS_INVALID" ? "arguments" : "result";
    super(
      code,
      `Task ${task}: ${what} break the contract:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n")}`,
      {
        hint:
          code === "TASK_ARGS_INVALID"
            ? "call the task with values matching its contract's args/kwargs schemas"
            : "return a value matching the contract's result schema",
      },
    );
    this.task = task;
    this.issues = issues;
  }
}

function issuesOf(root: "args" | "kwargs" | "result", error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path:
      root +
      issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("") +
      (issue.code === "unrecognized_keys" ? `.${issue.keys.join(",")}` : ""),
    message: issue.message.replace(/^Invalid input: /, ""),
  }));
}

/** How many positional arguments a tuple schema takes (null: any number, or not a tuple). */
function tupleLength(schema: ArgsSchema): number | null {
  return schema instanceof z.ZodTuple && !schema.def.rest ? schema.def.items.length : null;
}

function objectShape(schema: KwargsSchema): Record<string, unknown> {
  return schema instanceof z.ZodObject ? schema.shape : {};
}

/**
 * Validate a call; returns the parsed (defaulted, transformed) values or throws ContractViolation.
 * Keyword arguments named in `argNames` are bound to their positions first (Python's calling rules).
 */
export function validateCall<C extends AnyTaskContract>(
  contract: C,
  args: unknown,
  kwargs: unknown,
): { args: ParsedArgs<C>; kwargs: ParsedKwargs<C> } {
  const bound = bindArguments(contract.argNames ?? [], args, kwargs ?? {});
  const parsedArgs = contract.args.safeParse(bound.args);
  const parsedKwargs = contract.kwargs.safeParse(bound.kwargs);
  const named = (issue: ValidationIssue): ValidationIssue => {
    const name = contract.argNames?.[Number(/^args\[(\d+)\]/.exec(issue.path)?.[1] ?? Number.NaN)];
    return name ? { ...issue, message: `${issue.message} (argument '${name}')` } : issue;
  };
  const issues = [
    ...bound.conflicts,
    ...(parsedArgs.success ? [] : issuesOf("args", parsedArgs.error).map(named)),
    ...(parsedKwargs.success ? [] : issuesOf("kwargs", parsedKwargs.error)),
  ];
  if (issues.length > 0) throw new ContractViolation("TASK_ARGS_INVALID", contract.name, issues);
  return { args: parsedArgs.data, kwargs: parsedKwargs.data };
}

export function validateResult<C extends AnyTaskContract>(contract: C, value: unknown): TaskResult<C> {
  const parsed = contract.result.safeParse(value);
  if (!parsed.success)
    throw new ContractViolation("TASK_RESULT_INVALID", contract.name, issuesOf("result", parsed.error));
  return parsed.data;
}

/** A name → contract map that refuses duplicates. */
export function contractRegistry(
  contracts: readonly AnyTaskContract[],
): ReadonlyMap<string, AnyTaskContract> {
  const map = new Map<string, AnyTaskContract>();
  for (const contract of contracts) {
    if (map.has(contract.name) && map.get(contract.name) !== contract) {
      throw new ToolboxError("CONFIG_INVALID", `Two different contracts are named ${contract.name}.`, {
        hint: "a new incompatible signature is a new version: name it with a .v<N> suffix",
      });
    }
    map.set(contract.name, contract);
  }
  return map;
}

/** `rateLimit` as runs a second (null: none); a bad rate fails the definition, naming the task. */
function contractRate(name: string, rate: string | number | undefined): number | null {
  try {
    return parseCeleryRate(rate) || null;
  } catch (error) {
    throw new ToolboxError("CONFIG_INVALID", `Task ${name}: rateLimit ${(error as Error).message}.`, {
      hint: 'write it as Celery does: "10/m", "5/s", "100/h", or a number of runs a second',
    });
  }
}
