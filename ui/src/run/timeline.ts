// The timeline's rows: one per task that started, each attempt a bar, in order of start.
import type { LiveTask, TaskView } from "../api/types";

export interface Bar {
  attempt: number;
  state: string;
  start: number;
  end: number;
}

export interface Row {
  key: string;
  bars: Bar[];
}

/** Rows of `tasks` (mapped group records left out: their items have rows), and the span. */
export function timelineRows(tasks: Iterable<TaskView>, now: number): { rows: Row[]; from: number; to: number } {
  const rows: Row[] = [];
  let from = Infinity;
  let to = -Infinity;
  for (const t of tasks) {
    if (t.mapped) continue;
    const bars: Bar[] = [];
    for (const a of t.attempts) {
      if (a.started_at == null) continue;
      const end = a.ended_at ?? now;
      bars.push({ attempt: a.attempt, state: a.state, start: a.started_at, end });
      from = Math.min(from, a.started_at);
      to = Math.max(to, end);
    }
    if (bars.length) rows.push({ key: t.key, bars });
  }
  rows.sort((a, b) => a.bars[0].start - b.bars[0].start);
  if (!rows.length) return { rows, from: 0, to: 1 };
  return { rows, from, to: Math.max(to, from + 0.001) };
}

/** Rows from the live stream's tasks, for runs too big to list whole: each task's latest
 * attempt only (the stream carries no earlier ones). */
export function liveTimelineRows(tasks: Iterable<LiveTask>, now: number): { rows: Row[]; from: number; to: number } {
  const views: TaskView[] = [];
  for (const t of tasks) {
    if (t.mapped || t.started_at == null) continue;
    views.push({
      ...t, first_started_at: t.started_at, duration: null, ran_for: null,
      cache: { key: null, hit_from: null, parts: null, reason: null },
      attempts: [{ attempt: t.attempt, state: t.state, started_at: t.started_at, ended_at: t.ended_at, ran_for: null, reason: t.reason, error: t.error }],
    });
  }
  return timelineRows(views, now);
}
