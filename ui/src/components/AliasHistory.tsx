import type { AliasChange } from "../api/types";
import { timestamp } from "../lib/format";

export function AliasHistory({ history }: { history: AliasChange[] }) {
  if (!history.length) return <div className="muted">No alias set yet.</div>;
  return (
    <table className="table compact" data-testid="history">
      <thead><tr><th>When</th><th>Alias</th><th>Action</th><th>Version</th><th>Was</th><th>By</th><th>Reason</th></tr></thead>
      <tbody>
        {[...history].reverse().map((h, i) => (
          <tr key={i}>
            <td className="nowrap">{timestamp(h.at)}</td><td>{h.alias}</td><td>{h.action}</td>
            <td>{h.version == null ? "—" : `v${h.version}`}</td>
            <td>{h.previous == null ? "—" : `v${h.previous}`}</td>
            <td>{h.actor}</td><td>{h.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
