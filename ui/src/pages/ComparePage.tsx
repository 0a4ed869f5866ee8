// Runs side by side (`/compare?run=A&run=B`): parameters and final metrics, the rows where
// they differ highlighted (the table draws only the runs in view), and the chosen metrics'
// curves overlaid (`&plot=loss`; the first few by default), each read when chosen.
import { useMemo } from "react";
import { api } from "../api/client";
import { CompareChart, MetricPicker } from "../components/CompareCharts";
import { CompareTable } from "../components/CompareTable";
import { RunPicker } from "../components/RunPicker";
import { ErrorNote, PageHeader } from "../components/Status";
import { compareRows, metricNames, plottedNames } from "../lib/compare";
import { useApi } from "../lib/hooks";
import { navigate, useLocation } from "../router";

export function ComparePage() {
  const { query } = useLocation();
  const ids = query.getAll("run");
  const key = ids.join(",");
  const table = useApi(() => (ids.length ? api.compare(ids) : Promise.resolve(null)), [key]);
  const rows = useMemo(() => (table.data ? compareRows(table.data) : []), [table.data]);
  const names = useMemo(() => metricNames(rows), [rows]);
  const plotted = plottedNames(query.has("plot") ? query.getAll("plot") : null, names);
  const runIds = useMemo(() => (table.data?.rows ?? []).map((r) => String(r.run)), [table.data]);
  const go = (runs: string[], plot: string[] | null) => {
    const next = new URLSearchParams(runs.map((id) => ["run", id]));
    if (plot !== null) (plot.length ? plot : [""]).forEach((n) => next.append("plot", n)); // plot= : none
    const s = next.toString();
    navigate(`/compare${s ? "?" + s : ""}`);
  };
  return (
    <div className="page">
      <PageHeader title="Compare runs" sub="Parameters and final metrics side by side; differences highlighted." />
      <RunPicker chosen={ids} onChange={(next) => go(next, query.has("plot") ? plotted : null)} />
      <ErrorNote error={table.error} />
      {ids.length === 0 && <div className="empty">Pick runs above to compare them.</div>}
      {rows.length > 0 && <CompareTable runIds={runIds} rows={rows} />}
      {names.length > 0 && <MetricPicker names={names} plotted={plotted} onChange={(next) => go(ids, next)} />}
      <div className="charts">
        {plotted.map((name) => <CompareChart key={name} runIds={runIds} name={name} />)}
      </div>
    </div>
  );
}
