// The grid: the latest runs (rows) × their tasks (columns), each cell a task's state;
// paged by tasks, so a page of 25 runs × 60 tasks is 1,500 cells however big the runs are.
import { useEffect, useMemo, useState } from "react";
import { api } from "../api/client";
import type { RunSummary, TaskView } from "../api/types";
import { shortId } from "../lib/format";
import { styleOf } from "../lib/states";
import { navigate } from "../router";
import { Link } from "./Link";

const RUNS = 25;
const COLUMNS = 60;

/** Task keys in the order they first appear across runs (each run's order kept). */
export function taskColumns(runs: TaskView[][]): string[] {
  const seen = new Set<string>();
  for (const tasks of runs) for (const t of tasks) if (!t.mapped) seen.add(t.key);
  return [...seen];
}

export function RunsGrid({ runs }: { runs: RunSummary[] }) {
  const shown = runs.slice(0, RUNS);
  const ids = shown.map((r) => r.run_id).join(",");
  const [tasks, setTasks] = useState<Map<string, Map<string, string>>>(new Map());
  const [columns, setColumns] = useState<string[]>([]);
  const [page, setPage] = useState(0);
  useEffect(() => {
    let live = true;
    Promise.all(shown.map((r) => api.tasks(r.run_id).then((t) => t.tasks, () => [] as TaskView[]))).then(
      (lists) => {
        if (!live) return;
        setColumns(taskColumns(lists));
        setTasks(new Map(shown.map((r, i) => [r.run_id, new Map(lists[i].map((t) => [t.key, t.state]))])));
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ids]);
  const pages = Math.max(1, Math.ceil(columns.length / COLUMNS));
  const visible = useMemo(() => columns.slice(page * COLUMNS, (page + 1) * COLUMNS), [columns, page]);
  return (
    <div className="grid-view">
      <div className="pager">
        <span className="muted">
          {shown.length} latest runs × tasks {page * COLUMNS + 1}–{Math.min(columns.length, (page + 1) * COLUMNS)} of {columns.length}
        </span>
        <button disabled={page === 0} onClick={() => setPage(page - 1)}>Previous tasks</button>
        <button disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>Next tasks</button>
      </div>
      <div className="grid-rows">
        {shown.map((r) => (
          <div className="grid-row" key={r.run_id}>
            <Link to={`/runs/${r.run_id}`} className="mono grid-label">{shortId(r.run_id)}</Link>
            {visible.map((key) => {
              const state = tasks.get(r.run_id)?.get(key);
              return (
                <span
                  key={key}
                  className="cell"
                  title={`${key}: ${state ?? "not in this run"}`}
                  style={{ background: state ? styleOf(state).color : "transparent" }}
                  onClick={() => state && navigate(`/runs/${r.run_id}?task=${encodeURIComponent(key)}`)}
                />
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}
