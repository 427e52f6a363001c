/** Plain-text tables and JSON for command output; no colours, so output pipes and diffs cleanly. */

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, index) =>
    Math.max(header.length, ...rows.map((row) => (row[index] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, index) => (index === cells.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

/** A value as one short line: strings bare, everything else as JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "-";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** Each item with the connector that draws it in a tree (├─, or └─ for the last). */
export function branches<T>(items: readonly T[]): [prefix: string, item: T][] {
  return items.map((item, index) => [index === items.length - 1 ? "└─ " : "├─ ", item]);
}
