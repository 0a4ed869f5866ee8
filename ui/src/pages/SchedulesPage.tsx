// Every schedule the scheduler declared in the store (pipeline, when it runs, its next
// instant, paused or not, its ticks counted by status), and the backfills with their progress.
import { api } from "../api/client";
import { Link } from "../components/Link";
import { ErrorNote, Loading, PageHeader } from "../components/Status";
import { TickCounts } from "../components/TickCounts";
import { useApi } from "../lib/hooks";
import { progress, wallClock } from "../lib/schedules";

export function SchedulesPage() {
  const schedules = useApi(() => api.schedules(), []);
  const backfills = useApi(() => api.backfills(), []);
  return (
    <div className="page">
      <PageHeader title="Schedules" sub="What `legato scheduler` runs and when: each schedule's next instant and its ticks." />
      <ErrorNote error={schedules.error} />
      {!schedules.data ? (schedules.error ? null : <Loading what="schedules" />) : schedules.data.schedules.length === 0 ? (
        <div className="empty">No schedule declared yet (`legato scheduler` declares them in the store).</div>
      ) : (
        <table className="table" data-testid="schedules">
          <thead><tr><th>Schedule</th><th>Pipeline</th><th>When</th><th>Next (UTC)</th><th>Paused</th><th>Ticks</th></tr></thead>
          <tbody>
            {schedules.data.schedules.map((s) => (
              <tr key={s.name} data-schedule={s.name}>
                <td><Link to={`/schedules/${encodeURIComponent(s.name)}`}>{s.name}</Link></td>
                <td className="mono">{s.pipeline}</td>
                <td className="mono">{s.when}</td>
                <td className="nowrap">{s.next_due ? wallClock(s.next_due) : "—"}</td>
                <td>{s.paused ? <span className="tag" data-testid="paused">paused</span> : ""}</td>
                <td><TickCounts counts={s.ticks} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Backfills</h2>
      <ErrorNote error={backfills.error} />
      {!backfills.data ? (backfills.error ? null : <Loading what="backfills" />) : backfills.data.backfills.length === 0 ? (
        <div className="empty">No backfill (`legato schedules backfill` makes one).</div>
      ) : (
        <table className="table" data-testid="backfills">
          <thead><tr><th>Backfill</th><th>Schedule</th><th>From (UTC)</th><th>To (UTC)</th><th>Progress</th><th>Ticks</th></tr></thead>
          <tbody>
            {backfills.data.backfills.map((b) => {
              const p = progress(b.ticks);
              return (
                <tr key={b.backfill_id} data-backfill={b.backfill_id}>
                  <td className="mono">{b.backfill_id}{b.cancelled && <span className="tag">cancelled</span>}</td>
                  <td><Link to={`/schedules/${encodeURIComponent(b.schedule)}`}>{b.schedule}</Link></td>
                  <td className="nowrap">{wallClock(b.start)}</td>
                  <td className="nowrap">{wallClock(b.end)}</td>
                  <td className="nowrap">
                    <progress max={Math.max(p.total, 1)} value={p.done} /> <span className="progress-text">{p.done}/{p.total}</span>
                  </td>
                  <td><TickCounts counts={b.ticks} /></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
