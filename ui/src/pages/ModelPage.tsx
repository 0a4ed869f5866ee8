// One model: its versions with lineage (the run and task that made each) and metrics, the
// aliases, their history, and promote / roll back, each after a confirmation.
import { useState } from "react";
import { api } from "../api/client";
import { Link } from "../components/Link";
import { ErrorNote, Loading, PageHeader } from "../components/Status";
import { number, shortId, timestamp } from "../lib/format";
import { useApi } from "../lib/hooks";
import { AliasHistory } from "../components/AliasHistory";
import { Confirm } from "../components/Confirm";
import { allows, needsNote, useRole } from "../lib/role";

type Pending = { kind: "promote"; version: number } | { kind: "rollback"; alias: string };

export function ModelPage({ name }: { name: string }) {
  const model = useApi(() => api.model(name), [name]);
  const [pending, setPending] = useState<Pending | null>(null);
  const [alias, setAlias] = useState("production");
  const [error, setError] = useState<string | null>(null);
  const role = useRole();
  const admin = allows(role, "admin");
  if (!model.data) return model.error ? <div className="page"><ErrorNote error={model.error} /></div> : <Loading what="the model" />;
  const m = model.data;
  const metricNames = [...new Set(m.versions.flatMap((v) => Object.keys(v.metrics)))].sort();
  const aliasOf = (version: number) => Object.entries(m.aliases).filter(([, v]) => v === version).map(([a]) => a);
  const confirm = (reason: string) => {
    if (!pending) return;
    const done = () => {
      setPending(null);
      setError(null);
      model.reload();
    };
    const call = pending.kind === "promote" ? api.promote(name, alias, pending.version, reason) : api.rollback(name, pending.alias, reason);
    call.then(done, (e: Error) => {
      setPending(null);
      setError(e.message);
    });
  };
  return (
    <div className="page">
      <PageHeader
        title={<>{m.name} <span className="muted small">model</span></>}
        sub={<>{m.versions.length} versions · {Object.entries(m.aliases).map(([a, v]) => `${a} → v${v}`).join(", ") || "no aliases"}</>}
        actions={
          <>
            <label className="inline">alias <input value={alias} onChange={(e) => setAlias(e.target.value)} aria-label="alias" /></label>
            {Object.keys(m.aliases).map((a) => (
              <button key={a} disabled={!admin} title={needsNote(role, "admin")} onClick={() => setPending({ kind: "rollback", alias: a })}>Roll back {a}</button>
            ))}
          </>
        }
      />
      <ErrorNote error={error} />
      <table className="table" data-testid="versions">
        <thead>
          <tr>
            <th>Version</th><th>Aliases</th><th>Run</th><th>Task</th><th>Created</th>
            {metricNames.map((k) => <th key={k} className="num">{k}</th>)}
            <th />
          </tr>
        </thead>
        <tbody>
          {[...m.versions].reverse().map((v) => (
            <tr key={v.version} data-version={v.version}>
              <td>v{v.version}</td>
              <td>{aliasOf(v.version).map((a) => <span key={a} className="tag tag-alt">{a}</span>)}</td>
              <td>{v.run_id ? <Link to={`/runs/${v.run_id}`} className="mono">{shortId(v.run_id)}</Link> : "—"}</td>
              <td>{v.run_id && v.task ? <Link to={`/runs/${v.run_id}?task=${encodeURIComponent(v.task)}`} className="mono">{v.task}</Link> : "—"}</td>
              <td className="nowrap">{timestamp(v.created_at)}</td>
              {metricNames.map((k) => <td key={k} className="num">{number(v.metrics[k] ?? null)}</td>)}
              <td><button className="small" disabled={!admin} title={needsNote(role, "admin")} onClick={() => setPending({ kind: "promote", version: v.version })}>Promote</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Alias history</h2>
      <AliasHistory history={m.history} />
      {pending && (
        <Confirm
          title={pending.kind === "promote" ? `Point ${alias} at v${pending.version}?` : `Roll back ${pending.alias} one step?`}
          action={pending.kind === "promote" ? "Promote" : "Roll back"}
          onConfirm={confirm}
          onCancel={() => setPending(null)}
        />
      )}
    </div>
  );
}
