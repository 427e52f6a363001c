import { describe, expect, it } from "vitest";
import { byteaArray, textArray } from "../../packages/runtime/src/results/binaryArrays.js";
import { resultsWorld } from "./world.js";

/**
 * The writers' binary array parameters store exactly what node-postgres's text arrays stored (the hex
 * and quoted-text path they replace): each element read back through `unnest`, byte for byte.
 */
const world = resultsWorld("binarrays");

const TEXTS: (string | null)[] = [
  "",
  null,
  "plain",
  'quotes " and \\ backslashes \\" and {braces}, commas, NULL',
  "NULL",
  "é ü ß — ☃ 😀 中文",
  '{"__type__": "decimal", "__value__": "1.10"}',
  "line\nbreak\ttab\r",
  "x".repeat(100 * 1024),
];

const BYTES: (Buffer | null)[] = [
  Buffer.alloc(0),
  null,
  Buffer.from([0, 1, 2, 255, 0x5c, 0x22]),
  Buffer.from("😀 \\x00 text"),
  Buffer.alloc(100 * 1024, 0xab),
];

async function readBack(type: "text" | "bytea", parameter: unknown) {
  const { rows } = await world.pool.query<{ v: string | Buffer | null; n: number }>(
    `SELECT v, n FROM unnest($1::${type}[]) WITH ORDINALITY AS u(v, n) ORDER BY n`,
    [parameter],
  );
  return rows.map((r) => r.v);
}

describe("binary array parameters", () => {
  it("text[]: the same strings as pg's text array, NULLs and empty strings kept apart", async () => {
    const viaText = await readBack("text", TEXTS);
    expect(viaText).toEqual(TEXTS);
    expect(await readBack("text", textArray(TEXTS))).toEqual(viaText);
  });

  it("bytea[]: the same bytes as pg's hex array, NULLs and empty buffers kept apart", async () => {
    const viaHex = await readBack("bytea", BYTES);
    expect(viaHex).toEqual(BYTES);
    expect(await readBack("bytea", byteaArray(BYTES))).toEqual(viaHex);
  });

  it("empty arrays and arrays without NULLs", async () => {
    expect(await readBack("text", textArray([]))).toEqual([]);
    expect(await readBack("bytea", byteaArray([]))).toEqual([]);
    expect(await readBack("text", textArray(["a", "b"]))).toEqual(["a", "b"]);
  });

  it("the server refuses what text refuses (U+0000) with a data exception, as before", async () => {
    for (const parameter of [["a\u0000b"], textArray(["a\u0000b"])]) {
      const error = await readBack("text", parameter).catch((e: { code?: string }) => e);
      expect((error as { code?: string }).code).toMatch(/^22/);
    }
  });
});
