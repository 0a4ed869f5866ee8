// The compare table: a row per parameter and final metric, a column per run, the rows where
// the runs differ highlighted. Only the columns in view are drawn (a spacer cell stands for
// those either side), so 200 runs × 50 metrics is a few hundred cells, not ten thousand.
import { useLayoutEffect, useRef, useState } from "react";
import { columnWindow, type CompareRow } from "../lib/compare";
import { json, number, shortId } from "../lib/format";
import { Link } from "./Link";

const LABEL = 220;
const COLUMN = 110;

export function CompareTable({ runIds, rows }: { runIds: string[]; rows: CompareRow[] }) {
  const box = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState(0);
  const [view, setView] = useState(1200);
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setView(Math.max(0, el.clientWidth - LABEL));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const [first, last] = columnWindow(scroll, view, COLUMN, runIds.length, 1);
  const before = first > 0 ? <td className="pad" aria-hidden style={{ width: first * COLUMN }} /> : null;
  const after = last < runIds.length ? <td className="pad" aria-hidden style={{ width: (runIds.length - last) * COLUMN }} /> : null;
  const shown = runIds.slice(first, last);
  return (
    <div className="compare-scroll" ref={box} onScroll={(e) => setScroll(e.currentTarget.scrollLeft)}>
      <table
        className="table compare"
        data-testid="compare"
        data-runs={runIds.length}
        style={{ width: LABEL + runIds.length * COLUMN }}
      >
        <thead>
          <tr>
            <th className="label" style={{ width: LABEL }} />
            {before}
            {shown.map((id) => (
              <th key={id} style={{ width: COLUMN }}>
                <Link to={`/runs/${id}`} className="mono">{shortId(id)}</Link>
              </th>
            ))}
            {after}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.column} className={r.differs ? "diff" : ""} data-differs={r.differs}>
              <th className="mono label" title={r.column}>{r.column}</th>
              {before}
              {r.values.slice(first, last).map((v, i) => (
                <td key={first + i} className={r.kind === "metric" ? "num" : ""}>
                  {r.kind === "metric" ? number(v) : v == null ? "—" : json(v)}
                </td>
              ))}
              {after}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
