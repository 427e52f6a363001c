import { once } from "node:events";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { terminalQuestions } from "../../../packages/cli/src/prompts.js";

describe("terminalQuestions", () => {
  it("answers from lines typed ahead of an input that already ended, then lets the input go", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = "";
    output.on("data", (chunk: Buffer) => {
      shown += chunk.toString();
    });
    const questions = terminalQuestions(input, output);
    // Everything typed ahead, then Ctrl+D, all before the first question is asked.
    input.end("order-export\n\nExports orders.\n");
    await once(input, "end");

    expect(await questions.question("Service name: ")).toBe("order-export");
    expect(await questions.question("First task: ")).toBe("");
    expect(await questions.question("Description: ")).toBe("Exports orders.");
    await expect(questions.question("One more: ")).rejects.toMatchObject({ code: "GENERATOR_INVALID_INPUT" });
    questions.close();

    expect(shown).toContain("Service name: ");
    expect(shown).toContain("Description: ");
    // A flowing input would keep the process alive after its work (the hang this guards against).
    expect(input.readableFlowing).not.toBe(true);
  });
});
