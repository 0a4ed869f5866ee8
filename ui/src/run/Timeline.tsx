// A Gantt chart of attempts, one row per task, virtualised: only rows in view are drawn.
import type { LiveTask, TaskView } from "../api/types";
import { VirtualList } from "../components/VirtualList";
import { duration } from "../lib/format";
import { useNow } from "../lib/hooks";
import { styleOf } from "../lib/states";
import { liveTimelineRows, timelineRows } from "./timeline";

const LABEL = 200;

export function Timeline(props: {
  tasks: Map<string, TaskView>;
  live: Map<string, LiveTask>;
  listed: boolean;
  onSelect: (key: string) => void;
}) {
  const now = useNow();
  const { rows, from, to } = props.listed
    ? timelineRows(props.tasks.values(), now)
    : liveTimelineRows(props.live.values(), now);
  if (!rows.length) return <div className="empty">No attempt has started yet.</div>;
  const span = to - from;
  return (
    <div className="timeline" data-testid="timeline">
      <div className="tl-axis">
        <span style={{ width: LABEL }} className="muted">{rows.length} tasks started</span>
        <span className="tl-scale muted"><span>0 s</span><span>{duration(span / 2)}</span><span>{duration(span)}</span></span>
      </div>
      <VirtualList
        items={rows}
        rowHeight={24}
        height={480}
        render={(row) => (
          <div className="tl-row" onClick={() => props.onSelect(row.key)}>
            <span className="tl-label mono" style={{ width: LABEL }} title={row.key}>{row.key}</span>
            <span className="tl-track">
              {row.bars.map((b) => (
                <span
                  key={b.attempt}
                  className="tl-bar"
                  title={`${row.key} attempt ${b.attempt}: ${styleOf(b.state).label}, ${duration(b.end - b.start)}`}
                  style={{
                    left: `${(100 * (b.start - from)) / span}%`,
                    width: `max(2px, ${(100 * (b.end - b.start)) / span}%)`,
                    background: styleOf(b.state).color,
                  }}
                />
              ))}
            </span>
          </div>
        )}
      />
    </div>
  );
}
