// Cancel, resume and start again: each asks the API, which acts as the CLI's commands do.
import { useState } from "react";
import { api } from "../api/client";
import type { RunSummary } from "../api/types";
import { navigate } from "../router";
import { ParamsForm } from "../components/ParamsForm";
import { fieldOfValue } from "../lib/params";
import { allows, needsNote, useRole } from "../lib/role";

const RESUMABLE = new Set(["failed", "cancelled", "crashed"]);
const ENDED = new Set(["succeeded", "failed", "cancelled", "crashed"]);

export function RunActions({ run, onDone }: { run: RunSummary; onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [again, setAgain] = useState(false);
  const role = useRole();
  const may = allows(role, "operator");
  const note = needsNote(role, "operator");
  const act = (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    what().then(
      () => {
        setBusy(false);
        onDone();
      },
      (e: Error) => {
        setBusy(false);
        setError(e.message);
      },
    );
  };
  const start = (params: Record<string, unknown>) =>
    act(() =>
      api.start(run.pipeline, params).then((a) => {
        setAgain(false);
        if (a.run_id) navigate(`/runs/${a.run_id}`);
        else navigate(`/runs?pipeline=${encodeURIComponent(run.pipeline)}`);
      }),
    );
  return (
    <div className="actions">
      {!ENDED.has(run.state) && (
        <button className="danger" disabled={!may || busy || run.cancel_requested} title={note} onClick={() => act(() => api.cancel(run.run_id))}>
          {run.cancel_requested ? "Cancelling…" : "Cancel"}
        </button>
      )}
      {RESUMABLE.has(run.state) && (
        <button disabled={!may || busy} title={note} onClick={() => act(() => api.resume(run.run_id))}>Resume</button>
      )}
      <button disabled={!may || busy} title={note} onClick={() => setAgain(!again)}>Start again…</button>
      {error && <div className="error" role="alert">{error}</div>}
      {again && (
        <div className="popover">
          <h3>Start {run.pipeline} again</h3>
          <ParamsForm
            fields={Object.entries(run.params).map(([name, value]) => fieldOfValue(name, value))}
            submit="Start run"
            busy={busy}
            onSubmit={start}
            onCancel={() => setAgain(false)}
          />
        </div>
      )}
    </div>
  );
}
