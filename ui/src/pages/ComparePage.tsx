// Runs side by side (`/compare?run=A&run=B`): parameters and final metrics, the rows where
// they differ highlighted, and each metric's curves overlaid.
import { useEffect, useMemo, useState } from "react";
import { api } from "../api/client";
import type { Series } from "../api/types";
import { Chart } from "../components/Chart";
import { Link } from "../components/Link";
import { RunPicker } from "../components/RunPicker";
import { ErrorNote, PageHeader } from "../components/Status";
import { json, number, shortId } from "../lib/format";
import { compareRows } from "../lib/compare";
import { useApi } from "../lib/hooks";
import { navigate, queryString, useLocation } from "../router";

export function ComparePage() {
  const { query } = useLocation();
  const ids = query.getAll("run");
  const key = ids.join(",");
  const table = useApi(() => (ids.length ? api.compare(ids) : Promise.resolve(null)), [key]);
  const [series, setSeries] = useState<Map<string, Series[]>>(new Map());
  useEffect(() => {
    let live = true;
    Promise.all(ids.map((id) => api.metrics(id).then((m): [string, Series[]] => [id, m.series], (): [string, Series[]] => [id, []]))).then(
      (found) => live && setSeries(new Map(found)),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  const rows = useMemo(() => (table.data ? compareRows(table.data) : []), [table.data]);
  const charts = useMemo(() => {
    const names = new Map<string, { label: string; points: [number, number | null][] }[]>();
    for (const [id, list] of series) {
      for (const s of list) {
        if (s.points.length < 2) continue;
        names.set(s.name, [...(names.get(s.name) ?? []), { label: `${shortId(id)} ${s.task}`, points: s.points }]);
      }
    }
    return [...names.entries()];
  }, [series]);
  const setIds = (next: string[]) => navigate("/compare" + queryString(next.map((id) => ["run", id])));
  const runIds = (table.data?.rows ?? []).map((r) => String(r.run));
  return (
    <div className="page">
      <PageHeader title="Compare runs" sub="Parameters and final metrics side by side; differences highlighted." />
      <RunPicker chosen={ids} onChange={setIds} />
      <ErrorNote error={table.error} />
      {ids.length === 0 && <div className="empty">Pick runs above to compare them.</div>}
      {rows.length > 0 && (
        <table className="table compare" data-testid="compare">
          <thead>
            <tr>
              <th />
              {runIds.map((id) => <th key={id}><Link to={`/runs/${id}`} className="mono">{shortId(id)}</Link></th>)}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.column} className={r.differs ? "diff" : ""} data-differs={r.differs}>
                <th className="mono">{r.column}</th>
                {r.values.map((v, i) => (
                  <td key={i} className={r.kind === "metric" ? "num" : ""}>{r.kind === "metric" ? number(v) : v == null ? "—" : json(v)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="charts">
        {charts.map(([name, curves]) => <Chart key={name} title={name} curves={curves} width={460} />)}
      </div>
    </div>
  );
}
