import { describe, expect, it } from "vitest";
import { peekNote } from "./resultNote.js";

/** A note as the results trigger writes it (json_build_object's spacing), with the row of a final state. */
const note = (schema: string, taskId: string) =>
  `{"schema" : ${JSON.stringify(schema)}, "task_id" : ${JSON.stringify(taskId)}, "status" : "SUCCESS", ` +
  `"row" : {"result_json" : {"task_id" : "not this one"}, "name" : "t"}}`;

describe("peekNote", () => {
  it("reads the schema and task id a note starts with", () => {
    expect(peekNote(note("public", "0b6c-4f"))).toEqual({ schema: "public", taskId: "0b6c-4f" });
    expect(peekNote(note("s", ""))).toEqual({ schema: "s", taskId: "" });
    // JSON.stringify's spacing (no spaces) and other whitespace read the same.
    expect(peekNote(JSON.stringify({ schema: "s", task_id: "t", status: "STARTED" }))).toEqual({
      schema: "s",
      taskId: "t",
    });
    expect(peekNote('{\n\t"schema":\r "s" ,"task_id" :"t"}')).toEqual({ schema: "s", taskId: "t" });
  });

  it("gives up (the caller parses the whole note) on escapes, another order or a cut note", () => {
    for (const payload of [
      note("public", 'say "hi"'),
      note("public", "back\\slash"),
      note("public", "caf\u00e9").replace("\u00e9", "\\u00e9"),
      note('sch"ema', "t"),
      '{"task_id" : "t", "schema" : "s"}',
      '{"schema" : "s"}',
      '{"schema" : "s", "task_id" : "t',
      '{"schema" : 1, "task_id" : "t"}',
      "",
      "[]",
    ]) {
      expect(peekNote(payload), payload).toBeUndefined();
    }
  });

  it("agrees with JSON.parse wherever it reads an address", () => {
    for (const taskId of ["a", "with space", "ünïcode ✓", "x\u2028y", "}{,:"]) {
      const payload = note("public", taskId);
      const parsed = JSON.parse(payload) as { schema: string; task_id: string };
      expect(peekNote(payload)).toEqual({ schema: parsed.schema, taskId: parsed.task_id });
    }
  });
});
