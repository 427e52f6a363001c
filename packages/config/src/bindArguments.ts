import { ToolboxError } from "./errors.js";

/**
 * Python's positional-or-keyword parameters for task contracts. A Python caller writes `echo.delay(x)` as
 * often as `echo.delay(value=x)`; Celery passes both to `def echo(value)`. A contract that names its
 * positional arguments (`argNames: ["value"]`) accepts both forms: keyword arguments named like a
 * positional one are moved into its slot before validation, so the handler receives the same typed tuple
 * either way. Passing one both ways is refused, as Python's "got multiple values for argument".
 */
export interface BoundCall {
  args: unknown;
  kwargs: unknown;
  /** `kwargs.<name>` issues for arguments given both positionally and by keyword. */
  conflicts: { path: string; message: string }[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** Move keyword arguments named in `argNames` into their positional slots (pure; inputs untouched). */
export function bindArguments(argNames: readonly string[], args: unknown, kwargs: unknown): BoundCall {
  if (argNames.length === 0 || !Array.isArray(args) || !isRecord(kwargs))
    return { args, kwargs, conflicts: [] };
  let bound: unknown[] | undefined;
  let rest: Record<string, unknown> | undefined;
  const conflicts: BoundCall["conflicts"] = [];
  argNames.forEach((name, index) => {
    if (!Object.hasOwn(kwargs, name)) return;
    rest ??= { ...kwargs };
    const value = rest[name];
    delete rest[name];
    if (index < args.length) {
      conflicts.push({ path: `kwargs.${name}`, message: `got multiple values for argument '${name}'` });
      return;
    }
    bound ??= [...args];
    // A gap before it (an earlier argument not given either way) stays undefined: its default applies,
    // or the schema reports it missing.
    while (bound.length < index) bound.push(undefined);
    bound[index] = value;
  });
  return { args: bound ?? args, kwargs: rest ?? kwargs, conflicts };
}

/** Check `argNames` when a contract is defined: identifiers, unique, not also a keyword argument. */
export function checkArgNames(
  task: string,
  argNames: readonly string[],
  positions: number | null,
  kwargNames: readonly string[],
): void {
  const problem = (why: string) =>
    new ToolboxError("CONFIG_INVALID", `Task ${task}: argNames ${why}.`, {
      hint: "name each positional argument once, as the Python function's parameters are named",
    });
  for (const name of argNames) {
    if (!IDENTIFIER.test(name)) throw problem(`has "${name}", which is not a Python identifier`);
    if (kwargNames.includes(name)) throw problem(`has "${name}", which is also a keyword argument`);
  }
  if (new Set(argNames).size !== argNames.length) throw problem("names an argument twice");
  if (positions !== null && argNames.length > positions)
    throw problem(`names ${argNames.length} arguments, but args has ${positions}`);
}
