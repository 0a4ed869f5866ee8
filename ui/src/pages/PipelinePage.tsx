// One pipeline: its graph before any run and its parameters as a form, where the server
// describes them (GET /pipelines/{name}); free `name=value` lines where it does not.
import { useState } from "react";
import { api, ApiError } from "../api/client";
import { ParamsForm } from "../components/ParamsForm";
import { ErrorNote, PageHeader } from "../components/Status";
import { useApi } from "../lib/hooks";
import { fieldsOf, parseLines } from "../lib/params";
import { navigate } from "../router";
import { RunGraph } from "../run/RunGraph";

export function PipelinePage({ name }: { name: string }) {
  const detail = useApi(() => api.pipeline(name).catch((e: ApiError) => (e.status === 404 || e.status === 405 ? null : Promise.reject(e))), [name]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [lines, setLines] = useState("");
  const fields = fieldsOf(detail.data);
  const start = (params: Record<string, string>) => {
    setBusy(true);
    setError(null);
    api.start(name, params).then(
      (a) => navigate(a.run_id ? `/runs/${a.run_id}` : `/runs?pipeline=${encodeURIComponent(name)}`),
      (e: Error) => {
        setBusy(false);
        setError(e.message);
      },
    );
  };
  const startLines = () => {
    try {
      start(parseLines(lines));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const graph = detail.data?.graph;
  return (
    <div className="page">
      <PageHeader title={name} sub={detail.data?.target ?? "pipeline"} />
      <ErrorNote error={detail.error ?? error} />
      <div className="pipeline-body">
        <div className="card form-card">
          <h3>Start a run</h3>
          {fields ? (
            <ParamsForm fields={fields} submit="Run" busy={busy} onSubmit={start} />
          ) : (
            <div className="params-form">
              <label>
                <span>Parameters, one <code>name=value</code> a line, as <code>legato run -p</code> takes them</span>
                <textarea rows={4} value={lines} onChange={(e) => setLines(e.target.value)} aria-label="parameters" />
              </label>
              <div className="row">
                <button className="primary" disabled={busy} onClick={startLines}>Run</button>
              </div>
            </div>
          )}
        </div>
        {graph && graph.nodes.length > 0 && graph.nodes.every((n) => Number.isFinite(n.layer)) && (
          <RunGraph shape={graph} live={null} selected={null} onSelect={() => {}} />
        )}
      </div>
    </div>
  );
}
