import { z } from "zod";
import { SERVICE_NAME_PATTERN } from "../names.js";
import { doc } from "./doc.js";

/** `service`: the service this process belongs to. */
export const serviceSchema = doc(
  z
    .string()
    .regex(SERVICE_NAME_PATTERN, "must be lower kebab-case letters and digits, starting with a letter")
    .optional(),
  "The service this process belongs to. Its queue is `<prefix>.<service>`, bound with `<service>.#`. " +
    "Required for workers; producers and the tracker may leave it out.",
  "export",
);
