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

/** The names of the metrics the rows hold (`metric.loss` → `loss`), as the API's
 * `/compare/series` takes them. */
export function metricNames(rows: CompareRow[]): string[] {
  return rows.filter((r) => r.kind === "metric").map((r) => r.column.slice("metric.".length));
}

/** How many metrics are plotted when the URL does not say (`?plot=`). */
export const DEFAULT_PLOTTED = 4;

/** The metrics to plot: those the URL names (`plot=` with no value: none), else the
 * first few. */
export function plottedNames(chosen: string[] | null, names: string[]): string[] {
  if (chosen === null) return names.slice(0, DEFAULT_PLOTTED);
  return chosen.filter((n) => n !== "" && names.includes(n));
}

/** The columns `[first, last)` of `count` columns `width` px wide to draw when the view
 * shows `[scroll, scroll + view)` px of them, with `extra` columns either side. */
export function columnWindow(scroll: number, view: number, width: number, count: number, extra = 2): [number, number] {
  const first = Math.max(0, Math.floor(scroll / width) - extra);
  const last = Math.min(count, Math.ceil((scroll + view) / width) + extra);
  return [first, Math.max(first, last)];
}
