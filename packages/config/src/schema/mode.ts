import { z } from "zod";
import { doc } from "./doc.js";

/** `mode`: which defaults apply and how hard a missing setting fails. */
export const modeSchema = doc(
  z.enum(["development", "production", "test"]).default("development"),
  "development fills in local defaults for the prefix and both URLs; production has no defaults for " +
    "them and fails hard when one is missing; test is development with short timeouts. " +
    "Falls back to production when NODE_ENV=production.",
  "production",
);
