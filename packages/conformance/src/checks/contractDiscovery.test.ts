/// <reference types="vite/client" />
import { defineTask } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { contractsIn, publishedContracts } from "./contractDiscovery.js";

// What a service's test file passes: its contract modules, loaded by vitest.
const modules = import.meta.glob("./__fixtures__/contracts/**/*.ts", { eager: true });
const sendInvoice = defineTask({ name: "billing.send_invoice", result: z.null() });

describe("contract discovery", () => {
  it("collects every exported contract of the modules, arrays included, and nothing else", () => {
    expect(Object.keys(modules)).toHaveLength(2);
    const names = contractsIn(modules)
      .map((contract) => contract.name)
      .sort();
    expect(names).toEqual(["billing.refund.v2", "billing.send_invoice", "shipping.label"]);
  });

  it("adds the service's discovered contracts to what it publishes (only its own service)", () => {
    const { contracts, problems } = publishedContracts({ contractModules: modules }, "billing", [
      sendInvoice,
    ]);
    expect(problems).toEqual([]);
    expect(contracts.map((contract) => contract.name).sort()).toEqual([
      "billing.refund.v2",
      "billing.send_invoice",
    ]);
    // The one already listed is kept as given.
    expect(contracts.find((contract) => contract.name === "billing.send_invoice")).toBe(sendInvoice);
  });

  it("is a problem when nothing shows the service's contracts, unless the task list is declared complete", () => {
    const blind = publishedContracts({}, "billing", [sendInvoice]);
    expect(blind.problems).toEqual([
      expect.stringContaining("a task dropped from the worker's task list would pass unnoticed"),
    ]);
    expect(publishedContracts({ tasksComplete: true }, "billing", [sendInvoice]).problems).toEqual([]);
    expect(publishedContracts({ contracts: [sendInvoice] }, "billing", [sendInvoice]).problems).toEqual([]);
  });
});
