// One schedule: when it runs, its next instants (UTC and its own time zone, the days its
// clocks change flagged), its ticks newest first (a status filter and the API's pages, both
// in the URL), each launched tick linking to its run (every tick has an id reserved for its
// run, but only a launched one started it); pause and resume for an operator.
import { useState } from "react";
import { api } from "../api/client";
import { Link } from "../components/Link";
import { ErrorNote, Loading, PageHeader } from "../components/Status";
import { TickBadge, TickCounts } from "../components/TickCounts";
import { shortId } from "../lib/format";
import { useApi } from "../lib/hooks";
import { allows, needsNote, useRole } from "../lib/role";
import { TICK_STATUSES, offsetOf, wallClock } from "../lib/schedules";
import { navigate, queryString, useLocation } from "../router";

const PAGE = 50;

export function SchedulePage({ name }: { name: string }) {
  const { query } = useLocation();
  const status = query.get("status") ?? "";
  const before = query.get("before") ?? "";
  const schedule = useApi(() => api.schedule(name), [name]);
  const ticks = useApi(
    () => api.ticks(name, { status: status ? [status] : [], limit: PAGE, before: before || undefined }),
    [name, status, before],
  );
  const role = useRole();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!schedule.data) {
    return schedule.error ? <div className="page"><ErrorNote error={schedule.error} /></div> : <Loading what="the schedule" />;
  }
  const s = schedule.data;
  const go = (pairs: [string, string | number | null][]) =>
    navigate(window.location.pathname + queryString(pairs));
  const toggle = () => {
    setBusy(true);
    api.setPaused(name, !s.paused).then(
      () => {
        setBusy(false);
        setError(null);
        schedule.reload();
        ticks.reload();
      },
      (e: Error) => {
        setBusy(false);
        setError(e.message);
      },
    );
  };
  const nextBefore = ticks.data?.next_before ?? null;
  return (
    <div className="page">
      <PageHeader
        title={<>{s.name} <span className="muted small">schedule</span> {s.paused && <span className="tag" data-testid="paused">paused</span>}</>}
        sub={<><span className="mono">{s.pipeline}</span> · {s.when} · catchup {s.catchup} · overlap {s.overlap} · at most {s.max_active} active</>}
        actions={
          <button disabled={busy || !allows(role, "operator")} title={needsNote(role, "operator")} onClick={toggle}>
            {s.paused ? "Resume" : "Pause"}
          </button>
        }
      />
      <ErrorNote error={error} />
      <div className="muted">Ticks: <TickCounts counts={s.ticks} /></div>
      {Object.keys(s.params).length > 0 && (
        <div className="muted">Parameters: {Object.entries(s.params).map(([k, v]) => <span key={k} className="tag">{k}={JSON.stringify(v)}</span>)}</div>
      )}
      <h2>Next instants</h2>
      {s.upcoming.length === 0 ? (
        <div className="empty">{s.cron ? (s.paused ? "Paused: nothing is due." : "None.") : `No clock: it runs ${s.when}.`}</div>
      ) : (
        <table className="table" data-testid="upcoming">
          <thead><tr><th>UTC</th><th>Local ({s.tz})</th><th>Clocks</th></tr></thead>
          <tbody>
            {s.upcoming.map((due) => (
              <tr key={due.utc} data-dst={due.dst ? "true" : undefined}>
                <td className="nowrap">{wallClock(due.utc)}</td>
                <td className="nowrap">{wallClock(due.local)} <span className="muted">{offsetOf(due.local)}</span></td>
                <td>{due.dst && <span className="tag tag-alt" title="the clocks change this local day">{due.dst}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Ticks</h2>
      <div className="filters">
        <select aria-label="status" value={status} onChange={(e) => go([["status", e.target.value]])}>
          <option value="">every status</option>
          {TICK_STATUSES.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
      </div>
      <ErrorNote error={ticks.error} />
      {!ticks.data ? (ticks.error ? null : <Loading what="ticks" />) : ticks.data.ticks.length === 0 ? (
        <div className="empty">No tick{status ? ` ${status}` : ""}{before ? " before this page" : ""}.</div>
      ) : (
        <table className="table" data-testid="ticks">
          <thead><tr><th>Instant (UTC)</th><th>Status</th><th>Run</th><th>Backfill</th><th className="num">Launches</th><th>Reason</th></tr></thead>
          <tbody>
            {ticks.data.ticks.map((t) => (
              <tr key={`${t.instant}|${t.backfill ?? ""}`} data-status={t.status}>
                <td className="nowrap">{wallClock(t.instant)}</td>
                <td><TickBadge status={t.status} /></td>
                <td>{t.status === "launched" && t.run_id ? <Link to={`/runs/${encodeURIComponent(t.run_id)}`} className="mono">{shortId(t.run_id)}</Link> : "—"}</td>
                <td className="mono">{t.backfill ?? ""}</td>
                <td className="num">{t.launches}</td>
                <td>{t.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        {before && <button onClick={() => window.history.back()}>Newer</button>}
        {nextBefore !== null && <button onClick={() => go([["status", status], ["before", nextBefore]])}>Older</button>}
        {ticks.data && <span className="muted">{ticks.data.ticks.length} ticks on this page</span>}
      </div>
    </div>
  );
}
