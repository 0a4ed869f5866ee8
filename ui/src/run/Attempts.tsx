import type { AttemptView } from "../api/types";
import { StateBadge } from "../components/StateBadge";
import { duration, timestamp } from "../lib/format";

/** A task's attempts; the chosen one's error and logs are shown below it. */
export function Attempts(props: { attempts: AttemptView[]; chosen: number; onChoose: (n: number) => void }) {
  if (!props.attempts.length) return <div className="muted">No attempt yet.</div>;
  return (
    <table className="table compact attempts">
      <thead>
        <tr><th>#</th><th>State</th><th>Started</th><th className="num">Ran for</th><th>Reason</th></tr>
      </thead>
      <tbody>
        {props.attempts.map((a) => (
          <tr
            key={a.attempt}
            className={a.attempt === props.chosen ? "chosen" : ""}
            onClick={() => props.onChoose(a.attempt)}
          >
            <td>{a.attempt}</td>
            <td><StateBadge state={a.state} /></td>
            <td className="nowrap">{timestamp(a.started_at)}</td>
            <td className="num">{duration(a.ran_for)}</td>
            <td className="reason">{a.reason || a.error?.message || ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
