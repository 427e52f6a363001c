import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toJsonText } from "../results/jsonText.js";
import { newTaskMessage } from "./celeryMessage.js";
import { decodeTaskMessage } from "./decodeTaskMessage.js";
import { encodeTaskMessage } from "./encodeTaskMessage.js";
import { encodeJson } from "./kombuJson.js";
import { REUSE_FROM_BYTES, receivedJsonbText, receivedKombuJson } from "./receivedJson.js";
import { arrivingMessage, decodedOrRefused, taskMessage } from "./testArbitraries.js";

const HEADERS = { contentType: "application/json", headers: { task: "svc.task", id: "id-1" } };

/** A delivery with this body text. */
const decode = (body: string) => decodeTaskMessage(Buffer.from(body), HEADERS);
/** An embed long enough for the body to be noted (REUSE_FROM_BYTES); extra embed keys are ignored. */
const PADDED_EMBED = `{"pad": "${"p".repeat(REUSE_FROM_BYTES)}"}`;
const PAD = "p".repeat(REUSE_FROM_BYTES);
const decodeArgs = (argsText: string, kwargsText = "{}") =>
  decode(`[${argsText}, ${kwargsText}, ${PADDED_EMBED}]`);

/** The property every reuse must keep: the bytes are the encoder's, byte for byte. */
function expectEncoderBytes(value: unknown, path: string): Buffer | undefined {
  const reused = receivedKombuJson(value);
  if (reused) expect(reused.toString("latin1")).toBe(encodeJson(value, path));
  const jsonb = receivedJsonbText(value);
  if (jsonb) {
    expect(reused).toBe(jsonb);
    // jsonb reads the reused text as the value toJsonText writes (same strings, numbers, keys).
    expect(JSON.parse(jsonb.toString())).toEqual(JSON.parse(toJsonText(value)));
  }
  return reused;
}

/** JSON values without Kombu's markers, digit-only keys or keys needing escapes: always reused. */
const plain: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: "binary" }),
    fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)) }),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("v"), { maxLength: 4 }),
    fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_ -]{0,8}$/), tie("v"), {
      maxKeys: 4,
      noNullPrototype: true,
    }),
  ),
})).v;

describe("receivedKombuJson: the body's text, reused only when it is the encoder's", () => {
  it("reuses what encodeJson wrote, as a view of the body (no copy)", () => {
    fc.assert(
      fc.property(fc.array(plain, { maxLength: 4 }), plain, (someArgs, value) => {
        const args = [...someArgs, PAD];
        const kwargs = { value };
        const { content, properties } = encodeTaskMessage(newTaskMessage({ task: "svc.task", args, kwargs }));
        const msg = decodeTaskMessage(content, properties);
        const reused = expectEncoderBytes(msg.args, "$.args");
        expect(reused).toBeDefined();
        expect(reused!.buffer).toBe(content.buffer);
        expect(expectEncoderBytes(msg.kwargs, "$.kwargs")).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });

  it("notes a 1 KB body, and the note is invisible: keys, JSON, copies and equality see the plain values", () => {
    const args = [7, "x".repeat(1024)];
    const kwargs = { when: "now" };
    const { content, properties } = encodeTaskMessage(newTaskMessage({ task: "svc.task", args, kwargs }));
    const msg = decodeTaskMessage(content, properties);
    expect(receivedKombuJson(msg.args)?.buffer).toBe(content.buffer);
    expect(receivedKombuJson(msg.kwargs)?.toString()).toBe('{"when": "now"}');
    expect(Object.keys(msg.args)).toEqual(["0", "1"]);
    expect(Object.keys(msg.kwargs)).toEqual(["when"]);
    expect(JSON.stringify(msg.args)).toBe(JSON.stringify(args));
    expect(msg.args).toStrictEqual(args);
    expect(msg.kwargs).toStrictEqual(kwargs);
    expect(receivedKombuJson([...msg.args])).toBeUndefined();
    expect(receivedKombuJson({ ...msg.kwargs })).toBeUndefined();
    expect(receivedKombuJson(structuredClone(msg.args))).toBeUndefined();
  });

  it("gives the encoder's bytes or nothing for every message we encode (markers and all)", () => {
    fc.assert(
      fc.property(taskMessage, (message) => {
        const msg = decodedOrRefused(encodeTaskMessage({ ...message, args: [...message.args, PAD] }));
        if (!msg) return;
        expectEncoderBytes(msg.args, "$.args");
        expectEncoderBytes(msg.kwargs, "$.kwargs");
      }),
      { numRuns: 300 },
    );
  });

  it("gives the encoder's bytes or nothing for hand-made and hostile bodies", () => {
    fc.assert(
      fc.property(arrivingMessage.handMade, (raw) => {
        const text = raw.content.toString();
        const content = Buffer.from(`${text.slice(0, -", null]".length)}, ${PADDED_EMBED}]`);
        const msg = decodedOrRefused({ ...raw, content });
        if (!msg) return;
        expectEncoderBytes(msg.args, "$.args");
        expectEncoderBytes(msg.kwargs, "$.kwargs");
      }),
      { numRuns: 500 },
    );
  });

  it("gives the encoder's bytes or nothing when canonical text is respaced or re-escaped", () => {
    fc.assert(
      fc.property(fc.array(anyKeys, { maxLength: 4 }), fc.nat(), fc.nat(9), (args, seed, rate) => {
        const text = respell(encodeJson(args), seed, rate);
        const msg = decodeArgs(text);
        expect(msg.args).toEqual(args); // the respelling changed the text, not the value
        expectEncoderBytes(msg.args, "$.args");
      }),
      { numRuns: 1000 },
    );
  });

  it("reuses what Python's json.dumps writes (Celery's bodies)", () => {
    // json.dumps([1, 2.5, -0.0, 1e-05, "caf\u00e9 \U0001F600", {"a": [True, None]}, "q\"\\\n\x7f"])
    const python =
      '[1, 2.5, -0.0, 1e-05, "caf\\u00e9 \\ud83d\\ude00", {"a": [true, null]}, "q\\"\\\\\\n\\u007f"]';
    const msg = decodeArgs(python, '{"when": "now"}');
    expect(expectEncoderBytes(msg.args, "$.args")?.toString()).toBe(python);
    expect(receivedJsonbText(msg.args)?.toString()).toBe(python);
    expect(expectEncoderBytes(msg.kwargs, "$.kwargs")?.toString()).toBe('{"when": "now"}');
  });

  it.each([
    ["a float written 1.0", "[1.0]"],
    ["an exponent in capitals", "[1E5]"],
    ["an integer beyond 2^53", "[12345678901234567890]"],
    ["no space after a comma", "[1,2]"],
    ["a space inside brackets", "[ 1]"],
    ["no space after a colon", '[{"a":1}]'],
    ["an escaped slash", '["\\/"]'],
    ["an escaped printable character", '["\\u0041"]'],
    ["upper-case hex", '["\\u00E9"]'],
    ["a newline as \\u000a", '["\\u000a"]'],
    ["raw non-ASCII text", '["é"]'],
    ["a raw DEL", '["\u007f"]'],
    ["a key given twice", '[{"a": 1, "a": 2}]'],
    ["a digits-only key (JSON.parse moves it first)", '[{"b": 1, "1": 2}]'],
    ["a key with an escape", '[{"\\u00e9": 1}]'],
    ["a Kombu marker", '[{"__type__": "datetime", "__value__": "2024-05-01T03:03:41"}]'],
  ])("encodes again for %s", (_why, args) => {
    const msg = decodeArgs(args);
    expect(receivedKombuJson(msg.args)).toBeUndefined();
  });

  it("keeps the Kombu bytes but not the jsonb text for U+0000 and unpaired surrogates", () => {
    for (const args of ['["a\\u0000b"]', '["\\ud800"]', '["x\\udc00"]', '["\\ud83d\\ude00\\ude00"]']) {
      const msg = decodeArgs(args);
      expect(expectEncoderBytes(msg.args, "$.args")?.toString()).toBe(args);
      expect(receivedJsonbText(msg.args)).toBeUndefined();
    }
  });

  it("encodes small bodies again (cheaper than noting and scanning them)", () => {
    const msg = decodeTaskMessage(Buffer.from('[[1, "x"], {"a": 1}, null]'), HEADERS);
    expect(receivedKombuJson(msg.args)).toBeUndefined();
    expect(receivedKombuJson(msg.kwargs)).toBeUndefined();
    expect(receivedKombuJson(decodeArgs('[1, "x"]', '{"a": 1}').args)?.toString()).toBe('[1, "x"]');
  });

  it("looks up only values decoded from a body", () => {
    const msg = decodeArgs('[1, {"a": 2}]');
    expect(receivedKombuJson([1, { a: 2 }])).toBeUndefined();
    expect(receivedKombuJson(msg.args[1])).toBeUndefined(); // a part of args is not a part of the body
    expect(receivedKombuJson({ ...msg.kwargs })).toBeUndefined();
    expect(receivedKombuJson("text")).toBeUndefined();
  });
});

/** Like `plain`, with digit-only keys too (JSON.parse puts those first). */
const anyKeys: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: fc.constantFrom("a", "b", "/", "\n", "\u00e9", '"') }),
    fc.integer(),
    fc.constantFrom(1.5, 1e-7, 1e21, -0),
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("a", "b", "1", "2", "10"), tie("v"), { maxKeys: 3, noNullPrototype: true }),
  ),
})).v;

/**
 * The same JSON spelled another way at some places (`rate` in 10): `,`/`:` without their space, spaces
 * inside brackets, a printable character or a short escape as a \u escape, a slash escaped, a number as a
 * float or in capitals. JSON.parse reads the same value; the encoder would not write it so.
 */
function respell(text: string, seed: number, rate: number): string {
  let state = seed;
  const pick = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % 10 < rate;
  };
  const unit = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  const SHORT: Record<string, string> = { n: "\\n", r: "\\r", t: "\\t", b: "\\b", f: "\\f" };
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === "\\") {
        const e = text[i + 1]!;
        const short = SHORT[e];
        if (short && pick()) out += unit(JSON.parse(`"${short}"`));
        else if (e === "u" && pick())
          out += text
            .slice(i, i + 6)
            .toUpperCase()
            .replace("\\U", "\\u");
        else out += text.slice(i, e === "u" ? i + 6 : i + 2);
        i += e === "u" ? 5 : 1;
      } else if (c === '"') {
        inString = false;
        out += c;
      } else out += c === "/" && pick() ? "\\/" : pick() ? unit(c) : c;
      continue;
    }
    if (c === '"') inString = true;
    if ((c === "," || c === ":") && pick()) {
      out += c;
      i++; // drop the space after it
    } else if ((c === "[" || c === "{") && pick()) out += `${c} `;
    else if (/[-\d]/.test(c)) {
      const token = /^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/.exec(text.slice(i))![0];
      i += token.length - 1;
      if (!pick()) out += token;
      else if (token.includes("e")) out += token.toUpperCase();
      else out += `${token}${/^-?\d+$/.test(token) ? ".0" : "0"}`;
    } else out += c;
  }
  return out;
}
