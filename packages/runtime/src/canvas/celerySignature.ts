import { formatIsoDateTime } from "../protocol/isoDateTime.js";
import type { AnySignature } from "./signature.js";

/**
 * A signature as Celery writes it into a message body's `embed` (`callbacks`, `errbacks`, `chain`,
 * `chord`) and into `celery.chord_unlock`'s arguments: celery/canvas.py `Signature` is a dict of exactly
 * these keys. Options use Celery's names (`task_id`, `countdown` in seconds, `eta`/`expires` as ISO
 * text or seconds, `link`, `link_error`), since a Python worker applies them with `apply_async(**options)`.
 * This module is the one place that knows the dict's shape, both ways.
 */
export interface CelerySignatureDict {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
}

/** The Celery dict of a signature; `idOf` gives the task id the planner assigned to it. */
export function toCelerySignature(
  sig: AnySignature,
  idOf: (sig: AnySignature) => string,
): CelerySignatureDict {
  const options: Record<string, unknown> = { task_id: idOf(sig) };
  const { countdownMs, eta, expires, priority } = sig.options;
  if (countdownMs !== undefined) options.countdown = countdownMs / 1_000;
  if (eta !== undefined) options.eta = formatIsoDateTime(eta);
  // Relative expiry stays relative (seconds from when the step is sent), as Celery's `expires=<number>`.
  if (expires !== undefined)
    options.expires = expires instanceof Date ? formatIsoDateTime(expires) : expires / 1_000;
  if (priority !== undefined) options.priority = priority;
  // The contract's time limits travel with the step, in Celery's option names and unit (seconds).
  const { hard, soft } = sig.contract.timeLimitMs;
  if (hard !== null) options.time_limit = hard / 1_000;
  if (soft !== null) options.soft_time_limit = soft / 1_000;
  if (sig.callbacks.length > 0) options.link = sig.callbacks.map((cb) => toCelerySignature(cb, idOf));
  if (sig.errbacks.length > 0) options.link_error = sig.errbacks.map((eb) => toCelerySignature(eb, idOf));
  return {
    task: sig.contract.name,
    args: [...sig.args],
    kwargs: { ...sig.kwargs },
    options,
    subtask_type: null,
    immutable: sig.mode === "immutable",
  };
}
