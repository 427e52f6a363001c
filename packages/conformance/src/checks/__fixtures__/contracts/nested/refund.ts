import { defineTask } from "@worker-toolbox/config";
import { z } from "zod";

export const refund = defineTask({ name: "billing.refund.v2", result: z.null() });
export const others = [defineTask({ name: "shipping.label", result: z.null() })];
