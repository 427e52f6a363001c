import { AssertionError } from "node:assert";
import { inspect, isDeepStrictEqual } from "node:util";
import type { AnyTaskContract, TaskArgs, TaskKwargs } from "@worker-toolbox/config";
import type { FollowUpOptions } from "@worker-toolbox/runtime";
import type { Recording } from "./recording.js";

/** A follow-up of one contract, typed by it. */
export interface SentCall<C extends AnyTaskContract> {
  args: TaskArgs<C>;
  kwargs: TaskKwargs<C> | undefined;
  options: FollowUpOptions | undefined;
  id: string;
}

/** Every follow-up of `contract` the handler sent, in order. */
export function sentCalls<C extends AnyTaskContract>(recording: Recording, contract: C): SentCall<C>[] {
  return recording.sent
    .filter((sent) => sent.name === contract.name)
    .map((sent) => ({
      args: sent.args as TaskArgs<C>,
      kwargs: sent.kwargs as TaskKwargs<C> | undefined,
      options: sent.options,
      id: sent.id,
    }));
}

/**
 * Assert that the handler sent `contract` (with these `args` / `kwargs` when given, compared deeply) and
 * return that call; throws an AssertionError listing what was sent otherwise. Works with any test runner.
 */
export function expectSent<C extends AnyTaskContract>(
  recording: Recording,
  contract: C,
  expected: { args?: TaskArgs<C>; kwargs?: TaskKwargs<C> } = {},
): SentCall<C> {
  const calls = sentCalls(recording, contract);
  const match = calls.find(
    (call) =>
      (expected.args === undefined || isDeepStrictEqual(call.args, expected.args)) &&
      (expected.kwargs === undefined || isDeepStrictEqual(call.kwargs ?? {}, expected.kwargs)),
  );
  if (match) return match;
  const wanted = [
    expected.args && `args ${inspect(expected.args)}`,
    expected.kwargs && `kwargs ${inspect(expected.kwargs)}`,
  ]
    .filter(Boolean)
    .join(" and ");
  const sent = recording.sent.map(
    (s) => `  ${s.name} args ${inspect(s.args)} kwargs ${inspect(s.kwargs ?? {})}`,
  );
  throw new AssertionError({
    message:
      `expected the handler to send ${contract.name}${wanted ? ` with ${wanted}` : ""}; it sent ` +
      (sent.length === 0 ? "nothing" : `:\n${sent.join("\n")}`),
  });
}

/** Assert that the handler sent nothing (of `contract`, when given). */
export function expectNothingSent(recording: Recording, contract?: AnyTaskContract): void {
  const sent = contract ? recording.sent.filter((s) => s.name === contract.name) : recording.sent;
  if (sent.length === 0) return;
  throw new AssertionError({
    message: `expected no follow-up${contract ? ` of ${contract.name}` : ""}; the handler sent ${sent
      .map((s) => s.name)
      .join(", ")}`,
  });
}
