// Client-side routing on the History API: every page has a URL, the back button works, and
// the server answers index.html for every path that is not the API's. Small enough that a
// router library would be more code to learn than this is to read.
import { useSyncExternalStore } from "react";

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("popstate", listener);
  };
}

function current(): string {
  return window.location.pathname + window.location.search;
}

/** Go to `to` (a path with its query), adding a history entry unless `replace`. */
export function navigate(to: string, replace = false): void {
  if (to === current()) return;
  if (replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  listeners.forEach((l) => l());
}

/** The current path and query string, re-rendering on every change. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, current);
  const url = new URL(href, "http://x");
  return { path: url.pathname, query: url.searchParams };
}

/** The route a path names; the pages are chosen from it in App. */
export type Route =
  | { page: "runs" }
  | { page: "run"; runId: string }
  | { page: "compare" }
  | { page: "models" }
  | { page: "model"; name: string }
  | { page: "pipelines" }
  | { page: "pipeline"; name: string }
  | { page: "schedules" }
  | { page: "schedule"; name: string }
  | { page: "login" }
  | { page: "missing" };

export function routeOf(path: string): Route {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [head, arg] = parts;
  if (parts.length === 0 || (head === "runs" && parts.length === 1)) return { page: "runs" };
  if (head === "runs" && parts.length === 2) return { page: "run", runId: arg };
  if (head === "compare" && parts.length === 1) return { page: "compare" };
  if (head === "models" && parts.length === 1) return { page: "models" };
  if (head === "models" && parts.length === 2) return { page: "model", name: arg };
  if (head === "pipelines" && parts.length === 1) return { page: "pipelines" };
  if (head === "pipelines" && parts.length === 2) return { page: "pipeline", name: arg };
  if (head === "schedules" && parts.length === 1) return { page: "schedules" };
  if (head === "schedules" && parts.length === 2) return { page: "schedule", name: arg };
  if (head === "login") return { page: "login" };
  return { page: "missing" };
}

/** A query string from pairs, leaving out empty values. */
export function queryString(pairs: [string, string | number | null | undefined][]): string {
  const q = new URLSearchParams();
  for (const [k, v] of pairs) if (v !== null && v !== undefined && v !== "") q.append(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
