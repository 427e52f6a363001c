import { type ResultTables, resultTables } from "@worker-toolbox/runtime/results";

/** The result backend's tables plus the function the argument search and its index use (sql/000002.sql). */
export function tables(schema: string): ResultTables & { argumentValues: string } {
  const t = resultTables(schema);
  return { ...t, argumentValues: `${t.schema}.worker_toolbox_argument_values` };
}
