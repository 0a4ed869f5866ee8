// The grid: the latest runs (rows) × their tasks (columns), each cell a task's state;
// paged by tasks, so a page of 25 runs × 60 tasks is 1,500 cells however big the runs are.
// The server answers a page of it at once (GET /grid, from each run's plan and its map
// items counted per state): no run's whole task list is read. A map is one column.
import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { GridCell, RunSummary, RunsGrid as GridPage } from "../api/types";
import { shortId } from "../lib/format";
import { styleOf } from "../lib/states";
import { navigate } from "../router";
import { Link } from "./Link";

const RUNS = 25;
const COLUMNS = 60;

/** What a cell's tooltip says: the task's state, and a map's items per state. */
export function cellTitle(key: string, cell: GridCell | undefined): string {
  if (!cell) return `${key}: not in this run`;
  const items = cell.items
    ? ` (${Object.entries(cell.items).map(([state, n]) => `${n} ${state}`).join(", ") || "no items"})`
    : "";
  return `${key}: ${cell.state}${items}`;
}

export function RunsGrid({ runs }: { runs: RunSummary[] }) {
  const shown = runs.slice(0, RUNS);
  const ids = shown.map((r) => r.run_id).join(",");
  const [grid, setGrid] = useState<GridPage | null>(null);
  const [page, setPage] = useState(0);
  useEffect(() => setPage(0), [ids]);
  useEffect(() => {
    let live = true;
    if (!ids) {
      setGrid(null);
      return;
    }
    api.grid(ids.split(","), page * COLUMNS, COLUMNS).then(
      (g) => live && setGrid(g),
      () => live && setGrid(null),
    );
    return () => {
      live = false;
    };
  }, [ids, page]);
  const total = grid?.total_columns ?? 0;
  const pages = Math.max(1, Math.ceil(total / COLUMNS));
  const cells = new Map((grid?.rows ?? []).map((row) => [row.run.run_id, row.cells]));
  const visible = grid?.columns ?? [];
  return (
    <div className="grid-view">
      <div className="pager">
        <span className="muted">
          {shown.length} latest runs × tasks {total ? page * COLUMNS + 1 : 0}–{Math.min(total, (page + 1) * COLUMNS)} of {total}
        </span>
        <button disabled={page === 0} onClick={() => setPage(page - 1)}>Previous tasks</button>
        <button disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>Next tasks</button>
      </div>
      <div className="grid-rows">
        {shown.map((r) => (
          <div className="grid-row" key={r.run_id}>
            <Link to={`/runs/${r.run_id}`} className="mono grid-label">{shortId(r.run_id)}</Link>
            {visible.map((key) => {
              const cell = cells.get(r.run_id)?.[key];
              return (
                <span
                  key={key}
                  className={cell?.items ? "cell map" : "cell"}
                  title={cellTitle(key, cell)}
                  style={{ background: cell ? styleOf(cell.state).color : "transparent" }}
                  onClick={() => cell && navigate(`/runs/${r.run_id}?task=${encodeURIComponent(key)}`)}
                />
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}
