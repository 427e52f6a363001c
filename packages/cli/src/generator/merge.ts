import { merge } from "node-diff3";

export interface MergeOutcome {
  content: string;
  conflict: boolean;
}

/**
 * Line-based three-way merge: `base` is the old template render, `ours` the file as the service has it,
 * `theirs` the new template render. Changes on one side only are taken; overlapping different changes
 * become git-style conflict markers labelled with the service's side and the template version.
 */
export function threeWayMerge(base: string, ours: string, theirs: string, theirsLabel: string): MergeOutcome {
  if (ours === theirs) return { content: ours, conflict: false };
  if (ours === base) return { content: theirs, conflict: false };
  if (theirs === base) return { content: ours, conflict: false };
  const result = merge(lines(ours), lines(base), lines(theirs), {
    label: { a: "yours", b: theirsLabel },
  });
  return { content: result.result.join("\n"), conflict: result.conflict };
}

// "a\nb\n" → ["a", "b", ""]: joining with "\n" restores the final newline exactly.
const lines = (text: string) => text.split("\n");

/** True when a file still holds conflict markers from an earlier upgrade. */
export function hasConflictMarkers(text: string): boolean {
  return /^<<<<<<< yours$/m.test(text) && /^>>>>>>> /m.test(text);
}
