// A run: its graph coloured live, the timeline of attempts, its metrics, and the drawer of
// the chosen task (`?task=KEY`); the tab is in the URL too (`?tab=timeline`).
import { useEffect, useMemo, useState } from "react";
import { api } from "../api/client";
import { Link } from "../components/Link";
import { StateBadge } from "../components/StateBadge";
import { ErrorNote, Loading, PageHeader } from "../components/Status";
import { duration, timestamp } from "../lib/format";
import { useApi, useNow } from "../lib/hooks";
import { countStates } from "../lib/live";
import { navigate, queryString, useLocation } from "../router";
import { RunActions } from "../run/RunActions";
import { RunGraph } from "../run/RunGraph";
import { RunMetrics } from "../run/RunMetrics";
import { StateCounts } from "../run/StateCounts";
import { TaskDrawer } from "../run/TaskDrawer";
import { Timeline } from "../run/Timeline";
import { LISTED_TASKS, useRunLive, type Follow } from "../run/useRunLive";

const TABS = ["graph", "timeline", "metrics"] as const;

export function RunPage({ runId }: { runId: string }) {
  const { query } = useLocation();
  const selected = query.get("task");
  const tab = (TABS as readonly string[]).includes(query.get("tab") ?? "") ? query.get("tab")! : "graph";
  const [liveState, setLiveState] = useState<string | undefined>(undefined);
  const [counted, setCounted] = useState(0);
  const detail = useApi(() => api.run(runId), [runId, liveState, counted]);
  const taskCount = detail.data ? Object.values(detail.data.task_counts).reduce((a, b) => a + b, 0) : null;
  const graph = useApi(() => api.graph(runId), [runId, counted]);
  // The stream replays the run's whole history from its start: a small run is followed so;
  // a big one is drawn from its summary and graph (re-read as patches come) and followed
  // from now, its history replayed only for the timeline, which needs every task (a map's
  // items are read a page at a time from the API). A run that had ended when the page
  // opened needs no stream for its graph.
  const [endedAtOpen, setEndedAtOpen] = useState<boolean | null>(null);
  if (endedAtOpen == null && detail.data) setEndedAtOpen(detail.data.run.ended_at != null);
  const big = taskCount != null && taskCount > LISTED_TASKS;
  const everyTask = tab === "timeline";
  const follow: Follow =
    endedAtOpen == null || taskCount == null ? null
    : !big ? (endedAtOpen ? null : "all")
    : everyTask ? "all"
    : endedAtOpen ? null
    : "now";
  const { live, tasks, version, listed, counted: recount } = useRunLive(runId, taskCount, follow);
  useEffect(() => setCounted(recount), [recount]);
  /** Whether the stream's tasks are all of the run's (else counts come from the API). */
  const whole = !big || follow === "all";
  const ended = live.ended;
  const shownState = ended ? `ended:${live.run?.state}` : live.run?.state;
  useEffect(() => setLiveState(shownState), [shownState]);
  const metrics = useApi(() => api.metrics(runId), [runId, ended ? version : Math.floor(version / 5)]);
  const now = useNow();

  const go = (pairs: [string, string | null][]) => {
    const next = new URLSearchParams(query);
    for (const [k, v] of pairs) {
      if (v == null) next.delete(k);
      else next.set(k, v);
    }
    navigate(`/runs/${runId}${queryString([...next.entries()])}`);
  };
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    if (whole) for (const t of live.tasks.values()) if (!t.mapped) c[t.state] = (c[t.state] ?? 0) + 1;
    return Object.keys(c).length ? c : detail.data?.task_counts ?? {};
  }, [live, detail.data, whole]);
  // A map's items per state: of its streamed items while the whole run is streamed, else
  // the graph's (the server's count, re-read as the run changes).
  const itemCounts: Record<string, number> = useMemo(() => {
    if (!selected) return {};
    const streamed = live.items.get(selected) ?? [];
    if (whole && streamed.length) return countStates(live.tasks, streamed);
    return graph.data?.nodes.find((n) => n.key === selected)?.items ?? {};
  }, [live, selected, whole, graph.data]);

  if (detail.error && !detail.data) return <div className="page"><ErrorNote error={detail.error} /></div>;
  if (!detail.data) return <RunSkeleton runId={runId} />;
  const run = detail.data.run;
  const state = live.run && !ended && run.state !== "crashed" ? (run.cancel_requested && live.run.state === "running" ? "cancelling" : live.run.state) : run.state;
  const running = run.ended_at == null && !ended;
  const series = metrics.data?.series ?? [];
  return (
    <div className={`page run-page${selected ? " with-drawer" : ""}`}>
      <PageHeader
        title={<><span>{run.pipeline}</span> <StateBadge state={state} /></>}
        sub={
          <>
            run <span className="mono">{run.run_id}</span> · started {timestamp(run.created_at)} ·{" "}
            {duration(running ? now - run.created_at : run.duration)}
            {run.reason && <> · {run.reason}</>}
          </>
        }
        actions={<RunActions run={{ ...run, state }} onDone={detail.reload} />}
      />
      <div className="run-meta">
        <StateCounts counts={counts} />
        <div className="params">
          {Object.entries(run.params).map(([k, v]) => (
            <span key={k} className="tag">{k}={typeof v === "string" ? v : JSON.stringify(v)}</span>
          ))}
          {Object.entries(detail.data.tags).map(([k, v]) => (
            <span key={k} className="tag tag-alt">{k}={v}</span>
          ))}
          <Link to={`/compare?run=${run.run_id}`} className="small">compare…</Link>
        </div>
      </div>
      <div className="tabs">
        {TABS.map((t) => (
          <button key={t} className={t === tab ? "tab on" : "tab"} onClick={() => go([["tab", t === "graph" ? null : t]])}>
            {t[0].toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      <div className="run-body">
        <div className="run-main">
          {tab === "graph" && (graph.data ? (
            <RunGraph shape={graph.data} live={live} countsFromShape={!whole} selected={selected} onSelect={(k) => go([["task", k]])} />
          ) : graph.error ? <ErrorNote error={graph.error} /> : <Loading what="the graph" />)}
          {tab === "timeline" && (
            <Timeline tasks={tasks} live={live.tasks} listed={listed} onSelect={(k) => go([["task", k]])} />
          )}
          {tab === "metrics" && <RunMetrics series={series} />}
        </div>
        {selected && (
          <TaskDrawer
            key={selected}
            runId={run.run_id}
            taskKey={selected}
            task={tasks.get(selected)}
            live={live.tasks.get(selected)}
            graphMapped={graph.data?.nodes.some((n) => n.key === selected && n.mapped) ?? false}
            itemCounts={itemCounts}
            version={live.seq + version}
            listed={listed}
            series={series.filter((s) => s.task === selected)}
            onSelect={(k) => go([["task", k]])}
            onClose={() => go([["task", null]])}
          />
        )}
      </div>
    </div>
  );
}

/** What shows while the run's summary loads (a big run's takes a while to count). */
function RunSkeleton({ runId }: { runId: string }) {
  return (
    <div className="page">
      <PageHeader title={<span className="mono">{runId}</span>} sub="Loading the run…" />
      <div className="graph skeleton" />
    </div>
  );
}
