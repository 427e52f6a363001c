import { ToolboxError } from "@worker-toolbox/config";

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30d`, `12h`, `90m`, `45s` → milliseconds; `flag` names the option in the error. */
export function parseDuration(text: string, flag = "--older-than"): number {
  const match = /^(\d+)\s*([smhd])$/.exec(String(text).trim());
  if (!match) {
    throw new ToolboxError("CONFIG_INVALID", `${flag} "${text}" is not a duration.`, {
      hint: "write a whole number followed by s, m, h or d, e.g. 30d",
    });
  }
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}
