import { defineTask } from "@worker-toolbox/config";
import { z } from "zod";

/**
 * TypeScript contracts of the Python tasks in interop_tasks.py (service `interop`), and the same tasks
 * on a TypeScript service (`tsint`, implemented in the tests), so a workflow can mix both languages.
 */
export function canvasContracts<S extends string>(service: S) {
  return {
    add: defineTask({
      name: `${service}.add`,
      args: z.tuple([z.number(), z.number()]),
      argNames: ["a", "b"],
      result: z.number(),
    }),
    mul: defineTask({
      name: `${service}.mul`,
      args: z.tuple([z.number(), z.number()]),
      argNames: ["a", "b"],
      result: z.number(),
    }),
    total: defineTask({
      name: `${service}.total`,
      args: z.tuple([z.array(z.number())]),
      argNames: ["values"],
      result: z.number(),
    }),
    boom: defineTask({ name: `${service}.boom`, args: z.tuple([z.string()]), result: z.never() }),
    onError: defineTask({
      name: `${service}.on_error`,
      args: z.tuple([z.string()]),
      kwargs: z.strictObject({ tag: z.string().optional() }),
      result: z.object({ failed: z.string(), tag: z.string().nullable() }),
    }),
  };
}
