import { defineTask } from "@worker-toolbox/config";
import { z } from "zod";

// A service's contract modules, for contractDiscovery.test.ts.
export const sendInvoice = defineTask({ name: "billing.send_invoice", result: z.null() });
export const notAContract = { name: "billing.fake", service: "billing" };
