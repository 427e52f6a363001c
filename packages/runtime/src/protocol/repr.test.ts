import { describe, expect, it } from "vitest";
import { argsRepr, kwargsRepr, pythonFloatRepr, pythonRepr, REPR_MAX_LENGTH } from "./repr.js";
import { CeleryDate, CeleryDecimal, CeleryTime } from "./values.js";

/** argsrepr with Celery's own budget (`app.amqp.argsrepr_maxsize`), for comparing with what Celery prints. */
const celeryArgsRepr = (args: unknown[]) => pythonRepr(args, { tuple: true, maxLength: 1024 });

describe("argsRepr / kwargsRepr", () => {
  it("match the captured Celery 5.6 headers", () => {
    expect(argsRepr(["org", "proj"])).toBe("('org', 'proj')");
    expect(kwargsRepr({ output_type: "xls" })).toBe("{'output_type': 'xls'}");
  });

  it("render tuples, Python literals and escaped quotes", () => {
    expect(argsRepr([])).toBe("()");
    expect(argsRepr([1])).toBe("(1,)");
    expect(argsRepr([true, false, null, 1.5, 2, "it's"])).toBe("(True, False, None, 1.5, 2, 'it\\'s')");
    expect(kwargsRepr({ a: [1, { b: 2 }], skip: undefined })).toBe("{'a': [1, {'b': 2}]}");
  });

  it("render dates, decimals and bytes as Python's repr does", () => {
    expect(argsRepr([new Date("2026-01-15T03:03:41.415Z"), new Date("2026-01-15T03:00:00Z")])).toBe(
      "(datetime.datetime(2026, 1, 15, 3, 3, 41, 415000, tzinfo=datetime.timezone.utc), datetime.datetime(2026, 1, 15, 3, 0, tzinfo=datetime.timezone.utc))",
    );
    expect(pythonRepr(new CeleryDate("2026-01-05"))).toBe("datetime.date(2026, 1, 5)");
    expect(pythonRepr(new CeleryTime("03:00:00"))).toBe("datetime.time(3, 0)");
    expect(pythonRepr(new CeleryTime("03:00:07.000010+00:00"))).toBe(
      "datetime.time(3, 0, 7, 10, tzinfo=datetime.timezone.utc)",
    );
    expect(pythonRepr(new CeleryTime("03:00:00-01:30"))).toBe(
      "datetime.time(3, 0, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=81000)))",
    );
    expect(pythonRepr(new CeleryDecimal("1.10"))).toBe("Decimal('1.10')");
    expect(pythonRepr(Buffer.from("hi"))).toBe("b'hi'");
    expect(pythonRepr(Buffer.from([0xff, 1]))).toBe("b'ff01'");
  });

  // Expected strings below are what Celery's saferepr (celery.utils.saferepr) prints for the same values.
  it("stop three containers deep", () => {
    expect(argsRepr([[[[1]]]])).toBe("([[[...]]],)");
    expect(kwargsRepr({ a: [1, { b: [] }] })).toBe("{'a': [1, {'b': [...]}]}");
    expect(kwargsRepr({ a: { b: { c: 1 } } })).toBe("{'a': {'b': {'c': 1}}}");
  });

  it("truncate at the budget like saferepr, quirks included", () => {
    // The closer that comes after the budget runs out is dropped, as in Celery.
    expect(celeryArgsRepr(["a".repeat(2000)])).toBe(`('${"a".repeat(1023)}...', ...`);
    expect(pythonRepr(["one two three"], { maxLength: 10 })).toBe("['one two...', ...");
    const many = pythonRepr([Array.from({ length: 500 }, (_, i) => i)], { maxLength: 40 });
    expect(many).toBe("[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, , ...]]");
  });

  it("count code points as Python does when cutting, astral characters included", () => {
    // Python: len('😀' * 600) == 600 (1,200 UTF-16 units); cut at 1,023 code points, never inside a pair.
    expect(celeryArgsRepr(["😀".repeat(600)])).toBe(`('${"😀".repeat(600)}',)`);
    expect(celeryArgsRepr(["😀".repeat(1100)])).toBe(`('${"😀".repeat(1023)}...', ...`);
    expect(celeryArgsRepr([`${"a".repeat(1000)}${"😀".repeat(100)}`])).toBe(
      `('${"a".repeat(1000)}${"😀".repeat(23)}...', ...`,
    );
    // A large argument is cut from its head (the repr costs the same for 100 KB as for 2 KB).
    expect(argsRepr(["b".repeat(100_000)])).toBe(`('${"b".repeat(255)}...', ...`);
  });

  it("stay within a 256-character budget: a 1 KB argument does not double the message", () => {
    expect(REPR_MAX_LENGTH).toBe(256);
    const kb = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(29).slice(0, 1024);
    const repr = argsRepr([12345, kb]);
    expect(repr).toBe(`(12345, '${kb.slice(0, 256 - "(12345, ".length)}...', ...`);
    expect(kwargsRepr({ blob: kb }).length).toBeLessThan(270);
    // Arguments that fit (ids and versions) are rendered whole, exactly as with Celery's budget.
    expect(argsRepr(["org-42", 7, { v: 2 }])).toBe(celeryArgsRepr(["org-42", 7, { v: 2 }]));
  });
});

describe("pythonFloatRepr", () => {
  it.each([
    [0.1, "0.1"],
    [1.5e-7, "1.5e-07"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1e15, "1000000000000000.0"],
    [1e16, "1e+16"],
    [1.2345e22, "1.2345e+22"],
    [-2.5, "-2.5"],
    [-0, "-0.0"],
    [123456.789, "123456.789"],
  ])("%s → %s", (x, expected) => {
    expect(pythonFloatRepr(x)).toBe(expected);
  });
});
