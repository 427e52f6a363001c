import { z } from "zod";

/** Attach the description and an example that docs and error messages show. */
export function doc<T extends z.ZodType>(schema: T, description: string, example: unknown): T {
  return schema.meta({ description, examples: [example] }) as T;
}

export const positiveInt = () => z.number().int().positive();
