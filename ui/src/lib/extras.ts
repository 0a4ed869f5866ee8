// What a runs table shows beside the list's own fields: each run's final metrics (from
// GET /compare, 20 runs a call) and tags (from GET /runs/{id}). Fetched per page, after it.
import { useEffect, useState } from "react";
import { api } from "../api/client";

export interface RunExtras {
  metrics: Record<string, number | null>;
  tags: Record<string, string>;
}

const FINAL = "metric.";
const CHUNK = 20;

/** Final metric values of each compared row, by run id. */
export function finalMetrics(rows: Record<string, unknown>[]): Map<string, Record<string, number | null>> {
  const found = new Map<string, Record<string, number | null>>();
  for (const row of rows) {
    const metrics: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith(FINAL)) metrics[k.slice(FINAL.length)] = v as number | null;
    }
    found.set(String(row.run), metrics);
  }
  return found;
}

/** The metric names to show as columns: those most runs have, at most `most`. */
export function keyMetrics(extras: Map<string, RunExtras>, most = 3): string[] {
  const seen = new Map<string, number>();
  for (const e of extras.values()) {
    for (const [k, v] of Object.entries(e.metrics)) if (v != null) seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return [...seen.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, most).map(([k]) => k);
}

export function useRunExtras(ids: string[]): Map<string, RunExtras> {
  const [extras, setExtras] = useState(new Map<string, RunExtras>());
  const key = ids.join(",");
  useEffect(() => {
    // Each answer shows as it comes: one slow run (a big one's summary takes a while to
    // count) holds back only its own row.
    let live = true;
    setExtras(new Map());
    const merge = (id: string, part: Partial<RunExtras>) =>
      live &&
      setExtras((prev) => {
        const next = new Map(prev);
        next.set(id, { metrics: {}, tags: {}, ...prev.get(id), ...part });
        return next;
      });
    for (let i = 0; i < ids.length; i += CHUNK) {
      api.compare(ids.slice(i, i + CHUNK)).then((c) => {
        for (const [id, metrics] of finalMetrics(c.rows)) merge(id, { metrics });
      }, () => {});
    }
    for (const id of ids) api.run(id).then((d) => merge(id, { tags: d.tags }), () => {});
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return extras;
}
