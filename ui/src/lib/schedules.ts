// Schedules' ticks as the CLI's `legato schedules` shows them: a colour per tick status
// (launched green, failed red, skipped and cancelled yellow, missed grey, queued blue), the
// counts in one order, and a backfill's progress (every tick that is no longer queued).

/** The tick statuses, in the order counts are shown (the API's `status` filter values). */
export const TICK_STATUSES = ["queued", "launched", "skipped", "missed", "cancelled", "failed"] as const;

const COLORS: Record<string, { color: string; tint: string }> = {
  queued: { color: "#3b5bdb", tint: "#edf2ff" },
  launched: { color: "#2f9e44", tint: "#ebfbee" },
  skipped: { color: "#f08c00", tint: "#fff9db" },
  missed: { color: "#868e96", tint: "#f8f9fa" },
  cancelled: { color: "#f08c00", tint: "#fff9db" },
  failed: { color: "#e03131", tint: "#fff5f5" },
};

export function tickStyle(status: string): { color: string; tint: string } {
  return COLORS[status] ?? COLORS.missed;
}

/** Counts as `[status, n]` in TICK_STATUSES order, the zero ones left out (unknown last). */
export function orderedCounts(counts: Record<string, number>): [string, number][] {
  const known: string[] = [...TICK_STATUSES];
  const names = [...known, ...Object.keys(counts).filter((k) => !known.includes(k)).sort()];
  return names.filter((s) => (counts[s] ?? 0) > 0).map((s) => [s, counts[s]]);
}

/** How far a backfill got: its ticks no longer queued, out of all of them. */
export function progress(counts: Record<string, number>): { done: number; total: number } {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return { done: total - (counts.queued ?? 0), total };
}

/** An ISO instant as `2026-03-29 02:30` (its own offset kept: the wall clock it names). */
export function wallClock(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/** The text of an ISO instant's offset: `UTC` for +00:00, else `+02:00`. */
export function offsetOf(iso: string): string {
  const m = /([+-]\d{2}:\d{2}|Z)$/.exec(iso);
  if (!m) return "";
  return m[1] === "Z" || m[1] === "+00:00" ? "UTC" : m[1];
}
