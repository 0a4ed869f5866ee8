// The runs list's live state: a page from GET /runs, with the runs stream's changes merged
// in. A changed run replaces its row; a new one is shown first only when the page is the
// newest (no cursor) and sorted by creation, newest first, and matches the filters the
// stream cannot know about.
import type { RunSummary } from "../api/types";

export interface ListView {
  /** The first page, newest first: new runs may be put on top. */
  newestFirst: boolean;
  /** Whether a run belongs on this page by its pipeline and state. */
  pipeline?: string;
  state?: string;
  /** Other filters (tags, params, metrics) the stream's messages cannot be checked against. */
  opaque: boolean;
}

export function mergeRun(rows: RunSummary[], run: RunSummary, view: ListView): RunSummary[] {
  const at = rows.findIndex((r) => r.run_id === run.run_id);
  const fits =
    (!view.pipeline || view.pipeline === run.pipeline) && (!view.state || view.state === run.state);
  if (at >= 0) {
    if (!fits && view.state) return rows.filter((_, i) => i !== at);
    const next = rows.slice();
    next[at] = run;
    return next;
  }
  if (!fits || !view.newestFirst || view.opaque) return rows;
  if (rows.length && rows[0].created_at > run.created_at) {
    // older than the page's newest: it belongs below, where the page boundary may be
    const index = rows.findIndex((r) => r.created_at < run.created_at);
    if (index < 0) return rows;
    return [...rows.slice(0, index), run, ...rows.slice(index)];
  }
  return [run, ...rows];
}

/** Runs whose id, pipeline, state or a parameter contain `text` (case-insensitive). */
export function searchRuns(rows: RunSummary[], text: string): RunSummary[] {
  const needle = text.trim().toLowerCase();
  if (!needle) return rows;
  return rows.filter((r) =>
    [r.run_id, r.pipeline, r.state, r.reason, JSON.stringify(r.params)].some((s) =>
      s.toLowerCase().includes(needle),
    ),
  );
}
