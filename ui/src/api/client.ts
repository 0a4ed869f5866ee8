// The API client: one fetch wrapper for every call. The session cookie travels by itself
// (same origin); an answer of 401 tells the app to show the login page.
import type {
  Accepted, ComparedSeries, Comparison, ItemList, LogChunk, MetricSeries, ModelDetail, ModelSummary, PipelineDetail,
  PipelineView, RunDetail, RunGraph, RunList, RunsGrid, TaskList, BackfillView, ScheduleView,
  TickPage,
} from "./types";

export const API = "/api/v1";

/** An answer that was not 2xx: its status and the server's message. */
export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

type Unauthorized = () => void;
let onUnauthorized: Unauthorized = () => {};

/** What to do when the server says the session is missing or wrong. */
export function setUnauthorizedHandler(handler: Unauthorized): void {
  onUnauthorized = handler;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const answer = await fetch(API + path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? { Accept: "application/json" } : {
      Accept: "application/json", "Content-Type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (answer.status === 401) onUnauthorized();
  const text = await answer.text();
  let found: unknown = null;
  try {
    found = text ? JSON.parse(text) : null;
  } catch {
    found = { error: text };
  }
  if (!answer.ok) {
    const message = (found as { error?: string } | null)?.error ?? answer.statusText;
    throw new ApiError(answer.status, message);
  }
  return found as T;
}

const q = (pairs: Record<string, unknown>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(pairs)) {
    if (Array.isArray(v)) v.forEach((x) => s.append(k, String(x)));
    else if (v !== undefined && v !== null && v !== "") s.append(k, String(v));
  }
  const t = s.toString();
  return t ? `?${t}` : "";
};

const enc = encodeURIComponent;

export interface RunFilter {
  pipeline?: string;
  state?: string;
  tag?: string;
  param?: string;
  sort?: string;
  order?: string;
  limit?: number;
  cursor?: string;
}

export const api = {
  runs: (f: RunFilter) => call<RunList>("GET", `/runs${q({ ...f })}`),
  run: (id: string) => call<RunDetail>("GET", `/runs/${enc(id)}`),
  tasks: (id: string) => call<TaskList>("GET", `/runs/${enc(id)}/tasks`),
  graph: (id: string) => call<RunGraph>("GET", `/runs/${enc(id)}/graph`),
  items: (id: string, task: string, page: { state?: string; offset: number; limit: number }) =>
    call<ItemList>("GET", `/runs/${enc(id)}/tasks/${enc(task)}/items${q({ ...page })}`),
  metrics: (id: string) => call<MetricSeries>("GET", `/runs/${enc(id)}/metrics`),
  logs: (id: string, task: string, attempt: number | null, window: { start?: number; end?: number; limit?: number } = {}) =>
    call<LogChunk>("GET", `/runs/${enc(id)}/logs${q({ task, attempt, ...window })}`),
  output: (id: string, task: string, attempt: number) =>
    call<Record<string, unknown>>("GET", `/runs/${enc(id)}/tasks/${enc(task)}/attempts/${attempt}/output`),
  cancel: (id: string) => call<RunList["runs"][number]>("POST", `/runs/${enc(id)}/cancel`),
  resume: (id: string) => call<Accepted>("POST", `/runs/${enc(id)}/resume`),
  /** The grid of runs `ids`, or (none given) of the latest `limit` runs of `pipeline`. */
  grid: (ids: string[], taskOffset: number, taskLimit: number, latest: { pipeline?: string; limit?: number } = {}) =>
    call<RunsGrid>("GET", `/grid${q({ run: ids, task_offset: taskOffset, task_limit: taskLimit, ...latest })}`),
  compare: (ids: string[]) => call<Comparison>("GET", `/compare${q({ run: ids })}`),
  compareSeries: (ids: string[], name: string, points: number) =>
    call<ComparedSeries>("GET", `/compare/series${q({ run: ids, name, points })}`),
  models: () => call<{ models: ModelSummary[] }>("GET", "/models"),
  model: (name: string) => call<ModelDetail>("GET", `/models/${enc(name)}`),
  promote: (name: string, alias: string, version: number, reason: string) =>
    call<unknown>("POST", `/models/${enc(name)}/aliases/${enc(alias)}`, { version, reason }),
  rollback: (name: string, alias: string, reason: string) =>
    call<unknown>("POST", `/models/${enc(name)}/aliases/${enc(alias)}/rollback`, { reason }),
  me: () => call<{ role: string }>("GET", "/me"),
  pipelines: () => call<{ pipelines: PipelineView[] }>("GET", "/pipelines"),
  pipeline: (name: string) => call<PipelineDetail>("GET", `/pipelines/${enc(name)}`),
  start: (name: string, params: Record<string, unknown>) =>
    call<Accepted>("POST", `/pipelines/${enc(name)}/runs`, { params }),
  schedules: () => call<{ schedules: ScheduleView[] }>("GET", "/schedules"),
  schedule: (name: string) => call<ScheduleView>("GET", `/schedules/${enc(name)}`),
  ticks: (name: string, f: { status?: string[]; limit?: number; before?: number | string }) =>
    call<TickPage>("GET", `/schedules/${enc(name)}/ticks${q({ ...f })}`),
  setPaused: (name: string, paused: boolean) =>
    call<ScheduleView>("POST", `/schedules/${enc(name)}/${paused ? "pause" : "resume"}`),
  backfills: () => call<{ backfills: BackfillView[] }>("GET", "/backfills"),
};
