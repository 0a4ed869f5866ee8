import { api } from "../api/client";
import { Link } from "../components/Link";
import { ErrorNote, Loading, PageHeader } from "../components/Status";
import { useApi } from "../lib/hooks";

/** The pipelines this server can start (legato ui --pipeline TARGET). */
export function PipelinesPage() {
  const list = useApi(() => api.pipelines(), []);
  return (
    <div className="page">
      <PageHeader title="Pipelines" sub="The pipelines this server may start (legato ui --pipeline TARGET)." />
      <ErrorNote error={list.error} />
      {!list.data ? <Loading what="pipelines" /> : list.data.pipelines.length === 0 ? (
        <div className="empty">This server starts no pipeline: give legato ui --pipeline path/to/file.py:name.</div>
      ) : (
        <table className="table">
          <thead><tr><th>Pipeline</th><th>Target</th><th /></tr></thead>
          <tbody>
            {list.data.pipelines.map((p) => (
              <tr key={p.name}>
                <td><Link to={`/pipelines/${encodeURIComponent(p.name)}`}>{p.name}</Link></td>
                <td className="mono muted">{p.target}</td>
                <td><Link to={`/runs?pipeline=${encodeURIComponent(p.name)}`} className="small">runs</Link></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
