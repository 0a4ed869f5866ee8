// The runs list: a page of runs from GET /runs (filters, keyset paging by the API's
// cursor), kept live by the all-runs stream; the grid of the latest runs × their tasks
// below it.
import { useMemo, useState } from "react";
import { api, API } from "../api/client";
import type { RunSummary } from "../api/types";
import { Link } from "../components/Link";
import { RunFilters, type Filters } from "../components/RunFilters";
import { RunsTable } from "../components/RunsTable";
import { RunsGrid } from "../components/RunsGrid";
import { ErrorNote, PageHeader } from "../components/Status";
import { useApi, useEventStream } from "../lib/hooks";
import { mergeRun, searchRuns } from "../lib/runs";
import { navigate, queryString, useLocation } from "../router";

const PAGE = 50;

function filtersOf(query: URLSearchParams): Filters {
  return {
    pipeline: query.get("pipeline") ?? "",
    state: query.get("state") ?? "",
    tag: query.get("tag") ?? "",
    param: query.get("param") ?? "",
    search: query.get("q") ?? "",
    view: query.get("view") === "grid" ? "grid" : "table",
  };
}

export function RunsPage() {
  const { query } = useLocation();
  const filters = filtersOf(query);
  const cursor = query.get("cursor") ?? "";
  const [extra, setExtra] = useState<{ key: string; rows: RunSummary[] }>({ key: "", rows: [] });
  // The grid of the latest runs (of a pipeline) needs no runs list: it asks GET /grid for them.
  const gridOnly = filters.view === "grid" && !filters.state && !filters.tag && !filters.param && !cursor;
  const key = `${filters.pipeline}|${filters.state}|${filters.tag}|${filters.param}|${cursor}|${gridOnly}`;
  const page = useApi(
    () =>
      gridOnly ? Promise.resolve(null) : api.runs({
        pipeline: filters.pipeline, state: filters.state, tag: filters.tag,
        param: filters.param, limit: PAGE, cursor,
      }),
    [key],
  );
  const [changed, setChanged] = useState(0);
  // the stream's changes, merged into the page as they come
  const base = page.data?.runs ?? [];
  const rows = extra.key === key ? extra.rows : base;
  const view = {
    newestFirst: !cursor,
    pipeline: filters.pipeline || undefined,
    state: filters.state || undefined,
    opaque: Boolean(filters.tag || filters.param),
  };
  useEventStream(page.data || gridOnly ? `${API}/runs/stream` : null, {
    run: (data) => {
      if (gridOnly) {
        setChanged((c) => c + 1);
        return;
      }
      setExtra((prev) => {
        const current = prev.key === key ? prev.rows : base;
        const next = mergeRun(current, data as RunSummary, view).slice(0, PAGE);
        return { key, rows: next };
      });
    },
  });
  const shown = useMemo(() => searchRuns(rows, filters.search), [rows, filters.search]);
  const setFilters = (next: Filters) =>
    navigate(
      "/runs" +
        queryString([
          ["pipeline", next.pipeline], ["state", next.state], ["tag", next.tag],
          ["param", next.param], ["q", next.search],
          ["view", next.view === "grid" ? "grid" : ""],
        ]),
      true,
    );
  const nextCursor = page.data?.next_cursor;
  return (
    <div className="page">
      <PageHeader
        title="Runs"
        sub="Every run in the store, newest first; live."
        actions={<Link to="/compare" className="button">Compare runs</Link>}
      />
      <RunFilters filters={filters} onChange={setFilters} />
      <ErrorNote error={page.error} />
      {filters.view === "grid" ? (
        <RunsGrid runs={gridOnly ? null : rows} pipeline={filters.pipeline} changed={changed} />
      ) : (
        <>
          <RunsTable runs={shown} loading={page.loading && !page.data} />
          <div className="pager">
            {cursor && (
              <button onClick={() => window.history.back()}>Newer</button>
            )}
            {nextCursor && (
              <button
                onClick={() =>
                  navigate(window.location.pathname + queryString([
                    ...[...query.entries()].filter(([k]) => k !== "cursor"),
                    ["cursor", nextCursor],
                  ]))
                }
              >
                Older
              </button>
            )}
            <span className="muted">{shown.length} runs on this page</span>
          </div>
        </>
      )}
    </div>
  );
}
