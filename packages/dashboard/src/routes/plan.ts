import type { Ctx } from "./env.js";

/** A form's fields, every value a list (a checkbox list sends several). */
export type Fields = Record<string, string[]>;

/** What an action will do: the confirmation page's text, and the work once confirmed. */
export interface Plan {
  question: string;
  details: string[];
  cancel: string;
  danger?: boolean;
  /** Runs once confirmed; returns the message shown and where to go. */
  run: () => Promise<{ message: string; to: string }>;
}

export type Planner = (fields: Fields, c: Ctx) => Promise<Plan>;

export const one = (fields: Fields, name: string) => fields[name]?.[0]?.trim() ?? "";

/** A request the planner cannot act on: answered 400 with the message. */
export function badRequest(message: string): Error {
  return Object.assign(new Error(message), { code: "CONFIG_INVALID" });
}
