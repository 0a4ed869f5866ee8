// The compare table's rows: each parameter and final metric across runs, and whether the
// runs differ on it (the rows to highlight).
import type { Comparison } from "../api/types";

export interface CompareRow {
  column: string;
  kind: "param" | "metric";
  values: unknown[];
  differs: boolean;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function compareRows(c: Comparison): CompareRow[] {
  const rows: CompareRow[] = [];
  for (const column of c.columns) {
    const kind = column.startsWith("param.") ? "param" : column.startsWith("metric.") ? "metric" : null;
    if (!kind) continue;
    const values = c.rows.map((r) => r[column] ?? null);
    rows.push({ column, kind, values, differs: values.some((v) => !same(v, values[0])) });
  }
  return rows;
}
