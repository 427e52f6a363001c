import { createInterface } from "node:readline/promises";
import { ToolboxError } from "@worker-toolbox/config";

export interface Questions {
  /** Ask `text`; resolves with the next line typed (or typed ahead). */
  question(text: string): Promise<string>;
  close(): void;
}

/**
 * Questions on a terminal. Answers are read from readline's line stream, which keeps lines typed or pasted
 * ahead of their question (`rl.question()` drops them). Input that ends (Ctrl+D) before every question is
 * answered is a usage error; Ctrl+C exits 130. Both happen before anything is written.
 *
 * Once the input has ended, readline is closed but may still hold lines typed ahead: those are answered
 * without `rl.prompt()`, which would resume the ended input and keep the process alive after its work.
 */
export function terminalQuestions(
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stdout,
): Questions {
  const rl = createInterface({ input, output });
  let ended = false;
  rl.once("close", () => {
    ended = true;
  });
  rl.on("SIGINT", () => {
    rl.close();
    output.write("\n");
    process.exit(130);
  });
  const lines = rl[Symbol.asyncIterator]();
  return {
    async question(text) {
      if (ended) output.write(text);
      else {
        rl.setPrompt(text);
        rl.prompt();
      }
      const next = await lines.next();
      if (next.done) {
        throw new ToolboxError(
          "GENERATOR_INVALID_INPUT",
          "The input ended before every question was answered.",
          {
            hint: "answer on the terminal, or pass the answers as flags: worker-toolbox new <name> --task <task> --description <text>; nothing was written",
          },
        );
      }
      return next.value;
    },
    close() {
      rl.close();
      // Whatever readline did, the input must not keep the process alive once the questions are over.
      input.pause();
    },
  };
}
