// The grid: the latest runs (rows) × their tasks (columns), each cell a task's state;
// paged by tasks, so a page of 25 runs × 60 tasks is 1,500 cells however big the runs are.
// The server answers a page of it at once (GET /grid, from each run's plan and its map
// items counted per state): no run's whole task list is read. A map is one column. Unless
// the runs list is filtered by more than a pipeline, the grid asks for the latest runs
// itself, without waiting for the runs list first.
import { useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type { GridCell, RunSummary, RunsGrid as GridPage } from "../api/types";
import { shortId } from "../lib/format";
import { styleOf } from "../lib/states";
import { navigate } from "../router";
import { Link } from "./Link";

const RUNS = 25;
const COLUMNS = 60;
const REREAD_MS = 2000;

/** What a cell's tooltip says: the task's state, and a map's items per state. */
export function cellTitle(key: string, cell: GridCell | undefined): string {
  if (!cell) return `${key}: not in this run`;
  const items = cell.items
    ? ` (${Object.entries(cell.items).map(([state, n]) => `${n} ${state}`).join(", ") || "no items"})`
    : "";
  return `${key}: ${cell.state}${items}`;
}

/** The grid of the latest runs: of `runs` (a filtered list's), or, when null, the latest
 * runs (of `pipeline`) as the server finds them, in the same one request; read again (at
 * most every 2 s) when `changed` changes. */
export function RunsGrid({ runs, pipeline, changed }: { runs: RunSummary[] | null; pipeline: string; changed: number }) {
  const ids = runs ? runs.slice(0, RUNS).map((r) => r.run_id).join(",") : null;
  const [grid, setGrid] = useState<GridPage | null>(null);
  const [page, setPage] = useState(0);
  const [reread, setReread] = useState(0);
  const last = useRef(0);
  useEffect(() => setPage(0), [ids, pipeline]);
  useEffect(() => {
    if (changed === 0) return;
    const timer = window.setTimeout(() => setReread((r) => r + 1), Math.max(0, last.current + REREAD_MS - Date.now()));
    return () => window.clearTimeout(timer);
  }, [changed]);
  useEffect(() => {
    let live = true;
    if (ids === "") {
      setGrid(null);
      return;
    }
    last.current = Date.now();
    const asked = ids === null
      ? api.grid([], page * COLUMNS, COLUMNS, { pipeline: pipeline || undefined, limit: RUNS })
      : api.grid(ids.split(","), page * COLUMNS, COLUMNS);
    asked.then(
      (g) => live && setGrid(g),
      () => live && setGrid(null),
    );
    return () => {
      live = false;
    };
  }, [ids, pipeline, page, reread]);
  const total = grid?.total_columns ?? 0;
  const pages = Math.max(1, Math.ceil(total / COLUMNS));
  const rows = grid?.rows ?? [];
  const visible = grid?.columns ?? [];
  return (
    <div className="grid-view">
      <div className="pager">
        <span className="muted">
          {rows.length} latest runs × tasks {total ? page * COLUMNS + 1 : 0}–{Math.min(total, (page + 1) * COLUMNS)} of {total}
        </span>
        <button disabled={page === 0} onClick={() => setPage(page - 1)}>Previous tasks</button>
        <button disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>Next tasks</button>
      </div>
      <div className="grid-rows">
        {rows.map(({ run, cells }) => (
          <div className="grid-row" key={run.run_id}>
            <Link to={`/runs/${run.run_id}`} className="mono grid-label">{shortId(run.run_id)}</Link>
            {visible.map((key) => {
              const cell = cells[key];
              return (
                <span
                  key={key}
                  className={cell?.items ? "cell map" : "cell"}
                  title={cellTitle(key, cell)}
                  style={{ background: cell ? styleOf(cell.state).color : "transparent" }}
                  onClick={() => cell && navigate(`/runs/${run.run_id}?task=${encodeURIComponent(key)}`)}
                />
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}
