import { z } from "zod";
import { doc } from "./doc.js";

/** `environment.*`: what isolates this environment's exchanges and queues on a shared broker. */
export const environmentSchema = z.strictObject({
  prefix: doc(
    z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/, "must be 1-32 lower-case letters, digits or hyphens")
      .refine((value) => !["amq"].includes(value), "`amq` is reserved by RabbitMQ"),
    "Environment prefix of every exchange and queue name, isolating environments on a shared broker.",
    "staging",
  ),
});
