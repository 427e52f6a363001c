import type { DeadLetterInfo } from "@worker-toolbox/runtime/ops";

/** `dlq list --by reason|task`: how many died of what, and since when. */
export interface DeadLetterGroup {
  /** The reason (`retries-exhausted`, `delivery_limit (broker)`…) or the task name. */
  key: string;
  count: number;
  /** The tasks of a reason, or the reasons of a task (most frequent first). */
  others: string[];
  oldestAgeMs: number | undefined;
  newestAgeMs: number | undefined;
  /** The error of the most recently dead-lettered one. */
  lastError: string | undefined;
}

export function summariseDeadLetters(
  letters: readonly DeadLetterInfo[],
  by: "reason" | "task",
): DeadLetterGroup[] {
  const reasonOf = (letter: DeadLetterInfo) =>
    letter.origin === "broker" ? `${letter.reason} (broker)` : letter.reason;
  const keyOf = by === "reason" ? reasonOf : (letter: DeadLetterInfo) => letter.task ?? "?";
  const otherOf = by === "reason" ? (letter: DeadLetterInfo) => letter.task ?? "?" : reasonOf;
  type Group = { letters: DeadLetterInfo[]; others: Map<string, number> };
  const groups = new Map<string, Group>();
  for (const letter of letters) {
    const key = keyOf(letter);
    const group: Group = groups.get(key) ?? { letters: [], others: new Map<string, number>() };
    group.letters.push(letter);
    group.others.set(otherOf(letter), (group.others.get(otherOf(letter)) ?? 0) + 1);
    groups.set(key, group);
  }
  return [...groups]
    .map(([key, group]) => {
      const ages = group.letters
        .map((letter) => letter.ageMs)
        .filter((age): age is number => age !== undefined);
      const newest = [...group.letters].sort((a, b) => (a.ageMs ?? Infinity) - (b.ageMs ?? Infinity))[0];
      return {
        key,
        count: group.letters.length,
        others: [...group.others]
          .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
          .map(([name]) => name),
        oldestAgeMs: ages.length > 0 ? Math.max(...ages) : undefined,
        newestAgeMs: ages.length > 0 ? Math.min(...ages) : undefined,
        lastError: newest?.errorClass
          ? `${newest.errorClass}: ${newest.errorMessage ?? ""}`
          : (newest?.errorMessage ?? undefined),
      };
    })
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}
