import type { CacheView } from "../api/types";
import { Link } from "../components/Link";

/** What the cache said about a task: its key, a hit's source run, or why it missed and
 * which parts (code, inputs, params, version) changed since the run compared with. */
export function CacheInfo({ cache }: { cache: CacheView }) {
  const parts = cache.parts ?? {};
  const before = cache.previous_parts ?? {};
  const changed = new Set(cache.changed ?? []);
  const names = [...new Set([...Object.keys(parts), ...Object.keys(before)])].sort();
  return (
    <div className="cache">
      <dl className="kv">
        <dt>key</dt><dd className="mono">{cache.key ?? "—"}</dd>
        {cache.hit_from && (<><dt>hit from</dt><dd><Link to={`/runs/${cache.hit_from}`} className="mono">{cache.hit_from}</Link></dd></>)}
        {cache.reason && (<><dt>reason</dt><dd>{cache.reason}</dd></>)}
      </dl>
      {names.length > 0 && (
        <table className="table compact">
          <thead><tr><th>part</th><th>now</th><th>before</th></tr></thead>
          <tbody>
            {names.map((n) => (
              <tr key={n} className={changed.has(n) ? "diff" : ""}>
                <td>{n}</td>
                <td className="mono">{(parts[n] ?? "—").slice(0, 16)}</td>
                <td className="mono">{(before[n] ?? "—").slice(0, 16)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
