// One pipeline before any run (GET /pipelines/{name}): its graph as a run of it is drawn,
// and its parameters as a form typed by field that starts a run.
import { useState } from "react";
import { api } from "../api/client";
import { ParamsForm } from "../components/ParamsForm";
import { ErrorNote, Loading, PageHeader } from "../components/Status";
import { useApi } from "../lib/hooks";
import { needsNote, useRole } from "../lib/role";
import { navigate } from "../router";
import { RunGraph } from "../run/RunGraph";

export function PipelinePage({ name }: { name: string }) {
  const detail = useApi(() => api.pipeline(name), [name]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const refused = needsNote(useRole(), "operator");
  const start = (params: Record<string, unknown>) => {
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
  const pipeline = detail.data;
  return (
    <div className="page">
      <PageHeader title={name} sub={pipeline ? `${pipeline.target} · ${pipeline.fingerprint.slice(0, 12)}` : "pipeline"} />
      <ErrorNote error={detail.error ?? error} />
      {!pipeline && !detail.error && <Loading what="pipeline" />}
      {pipeline && (
        <div className="pipeline-body">
          <div className="card form-card">
            <h3>Start a run</h3>
            <ParamsForm key={pipeline.fingerprint} fields={pipeline.params} submit="Run" busy={busy} refused={refused} onSubmit={start} />
          </div>
          {pipeline.nodes.length > 0 && <RunGraph shape={pipeline} live={null} selected={null} onSelect={() => {}} />}
        </div>
      )}
    </div>
  );
}
