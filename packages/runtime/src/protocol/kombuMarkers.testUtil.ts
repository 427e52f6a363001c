/**
 * Kombu 5.3's JSON type markers, in Python, for test scripts that run on an older Kombu (Debian 12 ships
 * 5.2.4, which predates them): `MarkerEncoder` writes `{"__type__", "__value__"}` for datetime, date, time,
 * Decimal, UUID and bytes exactly as Kombu >= 5.3 does. Needs `base64, datetime, decimal, json, uuid`.
 */
export const KOMBU_MARKER_ENCODER_PY = `
class MarkerEncoder(json.JSONEncoder):
    def default(self, o):
        mark = lambda t, v: {"__type__": t, "__value__": v}
        if isinstance(o, datetime.datetime): return mark("datetime", o.isoformat())
        if isinstance(o, datetime.date): return mark("date", o.isoformat())
        if isinstance(o, datetime.time): return mark("time", o.isoformat())
        if isinstance(o, decimal.Decimal): return mark("decimal", str(o))
        if isinstance(o, uuid.UUID): return mark("uuid", {"hex": o.hex, "version": o.version})
        if isinstance(o, bytes):
            try: return mark("bytes", o.decode("utf-8"))
            except UnicodeDecodeError: return mark("base64", base64.b64encode(o).decode("utf-8"))
        return super().default(o)
`;
