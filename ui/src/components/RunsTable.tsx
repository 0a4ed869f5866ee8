import type { RunSummary } from "../api/types";
import { ago, duration, number, shortId } from "../lib/format";
import { keyMetrics, useRunExtras } from "../lib/extras";
import { useNow } from "../lib/hooks";
import { Link } from "./Link";
import { StateBadge } from "./StateBadge";

/** The runs of a page: state, pipeline, start, duration, key metrics and tags. */
export function RunsTable({ runs, loading }: { runs: RunSummary[]; loading: boolean }) {
  const now = useNow();
  const extras = useRunExtras(runs.map((r) => r.run_id));
  const metrics = keyMetrics(extras);
  if (loading) return <div className="muted pad">Loading runs…</div>;
  if (!runs.length) return <div className="empty">No runs match.</div>;
  return (
    <table className="table runs-table">
      <thead>
        <tr>
          <th>State</th>
          <th>Run</th>
          <th>Pipeline</th>
          <th>Started</th>
          <th className="num">Duration</th>
          {metrics.map((m) => <th key={m} className="num">{m}</th>)}
          <th>Tags</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => {
          const e = extras.get(r.run_id);
          const live = r.ended_at == null && r.state !== "crashed";
          return (
            <tr key={r.run_id} data-run={r.run_id}>
              <td><StateBadge state={r.state} /></td>
              <td><Link to={`/runs/${r.run_id}`} className="mono">{shortId(r.run_id)}</Link></td>
              <td>{r.pipeline}</td>
              <td title={new Date(r.created_at * 1000).toISOString()}>{ago(r.created_at, now)}</td>
              <td className="num">{duration(live ? now - r.created_at : r.duration)}</td>
              {metrics.map((m) => <td key={m} className="num">{number(e?.metrics[m] ?? null)}</td>)}
              <td>
                {Object.entries(e?.tags ?? {}).map(([k, v]) => (
                  <span key={k} className="tag">{k}={v}</span>
                ))}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
