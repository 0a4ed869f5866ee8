import { api } from "../api/client";
import { Link } from "../components/Link";
import { ErrorNote, Loading, PageHeader } from "../components/Status";
import { useApi } from "../lib/hooks";

/** Every registered model: its versions, latest, aliases. */
export function ModelsPage() {
  const models = useApi(() => api.models(), []);
  return (
    <div className="page">
      <PageHeader title="Models" sub="The model registry: versions, their lineage and aliases." />
      <ErrorNote error={models.error} />
      {!models.data ? <Loading what="models" /> : models.data.models.length === 0 ? (
        <div className="empty">No model registered yet (legato.register_model in a task).</div>
      ) : (
        <table className="table">
          <thead><tr><th>Model</th><th className="num">Versions</th><th className="num">Latest</th><th>Aliases</th></tr></thead>
          <tbody>
            {models.data.models.map((m) => (
              <tr key={m.name}>
                <td><Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link></td>
                <td className="num">{m.versions}</td>
                <td className="num">{m.latest ?? "—"}</td>
                <td>{Object.entries(m.aliases).map(([a, v]) => <span key={a} className="tag">{a} → v{v}</span>)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
