/**
 * Interop with the real Python side: bodies and headers we write are read by Kombu's JSON loader and
 * re-dumped byte-identically, argsrepr/kwargsrepr equal Celery's saferepr with our budget (REPR_MAX_LENGTH), a message built by Celery's
 * own `as_task_v2` decodes, and Python-made markers decode in TypeScript.
 *
 * Needs a python3 that imports kombu and celery (Debian: `apt-get install python3-celery`). Kombu < 5.3
 * (Debian 12 ships 5.2.4) predates the `__type__` markers, so there the script supplies the marker
 * hooks itself, using the same stdlib constructors Kombu >= 5.3 registers (datetime.fromisoformat,
 * Decimal, uuid.UUID, base64); with Kombu >= 5.3 Kombu's own loads/dumps do all of it.
 */
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { throughAmqp } from "./amqpHeaders.testUtil.js";
import { newTaskMessage } from "./celeryMessage.js";
import { decodeTaskMessage } from "./decodeTaskMessage.js";
import { encodeTaskMessage } from "./encodeTaskMessage.js";
import { decodeJson } from "./kombuJson.js";
import { KOMBU_MARKER_ENCODER_PY } from "./kombuMarkers.testUtil.js";
import { REPR_MAX_LENGTH } from "./repr.js";
import { kombuArgs, kombuKwargs } from "./testArbitraries.js";
import { CeleryDate, CeleryDecimal, CeleryTime } from "./values.js";

const SCRIPT = String.raw`
import base64, datetime, decimal, json, sys, uuid
import kombu, kombu.utils.json as kj
from celery import Celery
from celery.utils.saferepr import saferepr

NATIVE = hasattr(kj, "register_type")  # Kombu >= 5.3 handles the markers itself

DECODERS = {
    "datetime": datetime.datetime.fromisoformat,
    "date": lambda s: datetime.datetime.fromisoformat(s).date(),
    "time": datetime.time.fromisoformat,
    "decimal": decimal.Decimal,
    "bytes": lambda s: s.encode("utf-8"),
    "base64": lambda s: base64.b64decode(s.encode("utf-8")),
    "uuid": lambda d: uuid.UUID(**d),
}

def hook(o):
    if o.keys() == {"__type__", "__value__"}:
        return DECODERS[o["__type__"]](o["__value__"])
    return o

${KOMBU_MARKER_ENCODER_PY}

loads = kj.loads if NATIVE else (lambda s: kj.loads(s, _loads=lambda t: json.loads(t, object_hook=hook)))
dumps = kj.dumps if NATIVE else (lambda o: kj.dumps(o, cls=MarkerEncoder))

request = json.load(sys.stdin)
out = {"kombu": kombu.__version__, "native": NATIVE, "cases": []}
for case in request["cases"]:
    args, kwargs, embed = loads(case["body"])
    out["cases"].append({
        "redumped": dumps([args, kwargs, embed]),
        "argsrepr": saferepr(tuple(args), request["reprMaxLength"]),
        "kwargsrepr": saferepr(kwargs, request["reprMaxLength"]),
    })

utc = datetime.timezone.utc
out["from_python"] = dumps([
    datetime.datetime(2026, 1, 15, 3, 3, 41, 415080, tzinfo=utc),
    datetime.datetime(2026, 1, 15, 5, 3, 41, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
    datetime.date(2026, 1, 5), datetime.time(3, 0, 7, 10, tzinfo=utc), decimal.Decimal("1.10"),
    uuid.UUID("0f3c2e5a-9b8d-4c1e-8f7a-6b5c4d3e2f1a"), b"\xff\x00", "caf\u00e9".encode(), {"n": [1, 2.5, None, True]},
])

app = Celery("interop", set_as_current=False)
now = datetime.datetime(2026, 1, 15, 3, 3, 31, 415000, tzinfo=utc)
m = app.amqp.as_task_v2(
    request["id"], "export.project", ("org", "proj"), {"output_type": "xls"}, countdown=10, expires=60,
    time_limit=300, soft_time_limit=200, now=now, root_id=request["id"], origin="gen1@host",
)
out["celery"] = {"headers": m.headers, "body": dumps(m.body), "properties": m.properties}
print(json.dumps(out))
`;

function findPython(): { python?: string; why: string } {
  const tried: string[] = [];
  for (const python of ["python3", "/usr/bin/python3"]) {
    const probe = spawnSync(python, ["-c", "import kombu, celery"], { encoding: "utf8", timeout: 20_000 });
    if (probe.status === 0) return { python, why: "" };
    tried.push(`${python}: ${(probe.stderr || String(probe.error)).trim().split("\n").pop()}`);
  }
  return { why: tried.join("; ") };
}

const { python, why } = findPython();
if (!python)
  console.warn(
    `kombu interop skipped: no python3 with kombu and celery (${why}); apt-get install python3-celery`,
  );

interface PythonResult {
  kombu: string;
  native: boolean;
  cases: { redumped: string; argsrepr: string; kwargsrepr: string }[];
  from_python: string;
  celery: { headers: Record<string, unknown>; body: string; properties: Record<string, unknown> };
}

const ID = "7d3c1f0e-2b4a-4c8e-9f61-5a2b3c4d5e6f";

describe.skipIf(!python)("interop with Python Kombu and Celery", () => {
  const messages = fc
    .sample(fc.tuple(kombuArgs, kombuKwargs), {
      numRuns: 300,
      seed: Number(process.env.PROTOCOL_INTEROP_SEED ?? 20260115),
    })
    .map(([args, kwargs]) => encodeTaskMessage(newTaskMessage({ task: "interop.case", args, kwargs })));
  const run = () => {
    const input = JSON.stringify({
      id: ID,
      reprMaxLength: REPR_MAX_LENGTH,
      cases: messages.map((m) => ({ body: m.content.toString("utf8") })),
    });
    const child = spawnSync(python as string, ["-c", SCRIPT], {
      input,
      encoding: "utf8",
      timeout: 60_000,
      maxBuffer: 64 << 20,
    });
    if (child.status !== 0) throw new Error(`python failed (${child.status}): ${child.stderr}`);
    return JSON.parse(child.stdout) as PythonResult;
  };
  const result = python ? run() : undefined;
  const py = () => result as PythonResult;

  it("Kombu reads our bodies and writes them back byte for byte", () => {
    expect(py().cases).toHaveLength(messages.length);
    py().cases.forEach((c, i) => {
      expect(c.redumped, `case ${i}`).toBe(messages[i]?.content.toString("utf8"));
    });
  });

  it("our argsrepr/kwargsrepr equal Celery's saferepr of what Kombu decoded", () => {
    py().cases.forEach((c, i) => {
      const headers = messages[i]?.properties.headers;
      expect(headers?.argsrepr, `case ${i}`).toBe(c.argsrepr);
      expect(headers?.kwargsrepr, `case ${i}`).toBe(c.kwargsrepr);
    });
  });

  it("Python-made markers decode to the right TypeScript values", () => {
    expect(decodeJson(py().from_python)).toEqual([
      new Date("2026-01-15T03:03:41.415Z"),
      new Date("2026-01-15T03:03:41.000Z"),
      new CeleryDate("2026-01-05"),
      new CeleryTime("03:00:07.000010+00:00"),
      new CeleryDecimal("1.10"),
      "0f3c2e5a-9b8d-4c1e-8f7a-6b5c4d3e2f1a",
      Buffer.from([0xff, 0]),
      Buffer.from("café"),
      { n: [1, 2.5, null, true] },
    ]);
  });

  it("a message built by Celery's as_task_v2 decodes, and ours matches it", () => {
    const celery = py().celery;
    const decoded = decodeTaskMessage(Buffer.from(celery.body), {
      contentType: "application/json",
      contentEncoding: "utf-8",
      headers: throughAmqp(celery.headers),
    });
    expect(decoded).toMatchObject({
      id: ID,
      task: "export.project",
      args: ["org", "proj"],
      kwargs: { output_type: "xls" },
      eta: new Date("2026-01-15T03:03:41.415Z"),
      expires: new Date("2026-01-15T03:04:31.415Z"),
      timeLimit: { hard: 300, soft: 200 },
      rootId: ID,
      origin: "gen1@host",
    });
    const now = new Date("2026-01-15T03:03:31.415Z");
    const ours = encodeTaskMessage(
      newTaskMessage({
        id: ID,
        task: "export.project",
        args: ["org", "proj"],
        kwargs: { output_type: "xls" },
        countdownMs: 10_000,
        expires: 60_000,
        timeLimit: { hard: 300, soft: 200 },
        origin: "gen1@host",
        now,
      }),
      { now },
    );
    expect(ours.content.toString("utf8")).toBe(celery.body);
    // Every header this Celery version writes, we write with the same value (newer Celery adds more).
    for (const [name, value] of Object.entries(celery.headers))
      expect(ours.properties.headers[name], name).toEqual(value);
    expect(celery.properties.correlation_id).toBe(ours.properties.correlationId);
  });
});
