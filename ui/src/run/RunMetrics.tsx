import { useMemo } from "react";
import type { Series } from "../api/types";
import { Chart } from "../components/Chart";
import { number } from "../lib/format";

/** Every metric of a run: a chart per name (each task's curve), and the single values. */
export function RunMetrics({ series }: { series: Series[] }) {
  const byName = useMemo(() => {
    const m = new Map<string, Series[]>();
    for (const s of series) m.set(s.name, [...(m.get(s.name) ?? []), s]);
    return [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [series]);
  if (!series.length) return <div className="empty">No metrics logged.</div>;
  const curves = byName.filter(([, list]) => list.some((s) => s.points.length > 1));
  const values = series.filter((s) => s.points.length <= 1);
  return (
    <div className="metrics">
      {values.length > 0 && (
        <table className="table compact">
          <thead><tr><th>metric</th><th>task</th><th className="num">value</th></tr></thead>
          <tbody>
            {values.map((s) => (
              <tr key={`${s.task}/${s.name}`}>
                <td>{s.name}</td><td className="mono">{s.task}</td><td className="num">{number(s.points[0]?.[1] ?? null)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="charts">
        {curves.map(([name, list]) => (
          <Chart key={name} title={name} curves={list.map((s) => ({ label: s.task, points: s.points }))} width={420} />
        ))}
      </div>
    </div>
  );
}
