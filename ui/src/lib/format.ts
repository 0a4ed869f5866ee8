// How times, durations and numbers read on screen: one definition for every page.

/** "1.2 s", "3 m 04 s", "2 h 05 m"; an em dash for nothing. */
export function duration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} m`;
}

/** A moment (seconds since the epoch) as local "YYYY-MM-DD HH:MM:SS". */
export function timestamp(epoch: number | null | undefined): string {
  if (epoch == null) return "—";
  const d = new Date(epoch * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  );
}

/** How long ago `epoch` was, relative to `now` (both seconds since the epoch). */
export function ago(epoch: number | null | undefined, now: number): string {
  if (epoch == null) return "—";
  const d = Math.max(0, now - epoch);
  if (d < 60) return `${Math.floor(d)} s ago`;
  if (d < 3600) return `${Math.floor(d / 60)} m ago`;
  if (d < 86400) return `${Math.floor(d / 3600)} h ago`;
  return `${Math.floor(d / 86400)} d ago`;
}

/** A metric value: 4 significant digits, integers as they are. */
export function number(value: unknown): string {
  if (typeof value !== "number") return value == null ? "—" : String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  if (Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3) return value.toExponential(3);
  return Number(value.toPrecision(4)).toString();
}

/** A byte count: "512 B", "1.5 KiB", "3.2 MiB". */
export function bytes(n: number | null | undefined): string {
  if (n == null) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A run id shortened as the CLI shows it. */
export function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}

/** Any JSON value in one line. */
export function json(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}
