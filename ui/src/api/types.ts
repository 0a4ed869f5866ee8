// The shapes the API answers (legato.query views; /api/v1/openapi.json). Only what the
// pages read is typed; the server's schema is the reference.

export interface RunSummary {
  run_id: string;
  pipeline: string;
  state: string;
  created_at: number;
  ended_at: number | null;
  heartbeat_at: number;
  duration: number | null;
  reason: string;
  params: Record<string, unknown>;
  cancel_requested: boolean;
}

export interface RunList {
  runs: RunSummary[];
  next_cursor: string | null;
}

export interface RunDetail {
  run: RunSummary;
  target: string;
  fingerprint: string;
  executor: string;
  owner: string;
  epoch: number;
  cancel_reason: string;
  environment: Record<string, unknown>;
  tags: Record<string, string>;
  task_counts: Record<string, number>;
}

export interface ErrorView {
  type: string;
  message: string;
  traceback: string;
  kind: string;
}

export interface OutputView {
  checksum: string;
  size: number;
  serializer: string;
  producer: string;
  inline: boolean;
  meta: Record<string, unknown>;
}

export interface CacheView {
  key: string | null;
  hit_from: string | null;
  parts: Record<string, string> | null;
  reason: string | null;
  previous_parts?: Record<string, string> | null;
  changed?: string[];
}

export interface AttemptView {
  attempt: number;
  state: string;
  started_at: number | null;
  ended_at: number | null;
  ran_for: number | null;
  reason: string;
  error: ErrorView | null;
}

export interface TaskView {
  key: string;
  name: string;
  state: string;
  attempt: number;
  map_index: number | null;
  parent: string | null;
  mapped: boolean;
  items: number | null;
  started_at: number | null;
  ended_at: number | null;
  first_started_at: number | null;
  duration: number | null;
  ran_for: number | null;
  reason: string;
  error: ErrorView | null;
  cache: CacheView;
  output: OutputView | null;
  attempts: AttemptView[];
}

export interface TaskList {
  run_id: string;
  tasks: TaskView[];
}

/** A task as the live stream sends it (a patch carries each touched task whole). */
export interface LiveTask {
  key: string;
  name: string;
  state: string;
  attempt: number;
  map_index: number | null;
  parent: string | null;
  mapped: boolean;
  items: number | null;
  started_at: number | null;
  ended_at: number | null;
  reason: string;
  error: ErrorView | null;
  cache_hit: string | null;
  output: OutputView | null;
}

export interface LiveRun {
  state: string;
  reason: string;
  started_at: number | null;
  ended_at: number | null;
}

export interface Patch {
  seq: number;
  run: LiveRun;
  tasks: Record<string, LiveTask>;
}

export interface ItemList {
  run_id: string;
  task: string;
  state: string | null;
  total: number;
  offset: number;
  items: LiveTask[];
}

export interface GraphNode {
  key: string;
  name: string;
  mapped: boolean;
  layer: number;
  order: number;
  state: string | null;
  items: Record<string, number> | null;
}

export interface RunGraph {
  run_id: string;
  fingerprint: string;
  layers: number;
  width: number;
  nodes: GraphNode[];
  edges: { source: string; target: string; after?: boolean }[];
}

export interface LogChunk {
  run_id: string;
  task: string | null;
  attempt: number | null;
  start: number;
  end: number;
  size: number;
  text: string;
}

export interface Series {
  task: string;
  name: string;
  attempt: number;
  from_run: string | null;
  count: number;
  points: [number, number | null][];
}

export interface MetricSeries {
  run_id: string;
  series: Series[];
}

export interface ComparedSeries {
  name: string;
  runs: MetricSeries[];
}

export interface GridCell {
  state: string;
  items: Record<string, number> | null;
}

export interface RunsGrid {
  columns: string[];
  total_columns: number;
  offset: number;
  rows: { run: RunSummary; cells: Record<string, GridCell> }[];
}

export interface Comparison {
  columns: string[];
  rows: Record<string, unknown>[];
}

export interface ModelSummary {
  name: string;
  versions: number;
  latest: number | null;
  aliases: Record<string, number>;
}

export interface ModelVersionView {
  name: string;
  version: number;
  run_id: string | null;
  task: string | null;
  attempt: number | null;
  fingerprint: string | null;
  params: Record<string, unknown>;
  metrics: Record<string, number | null>;
  tags: Record<string, string>;
  created_at: number;
  artifact: OutputView | null;
}

export interface AliasChange {
  alias: string;
  version: number | null;
  previous: number | null;
  action: string;
  reason: string;
  actor: string;
  at: number;
}

export interface ModelDetail {
  name: string;
  aliases: Record<string, number>;
  versions: ModelVersionView[];
  history: AliasChange[];
}

export interface PipelineView {
  name: string;
  target: string;
}

export interface Accepted {
  action: string;
  run_id: string | null;
  pid: number;
  log: string;
}

/** One run parameter as a form shows it (GET /pipelines/{name}: query.param_types.ParamField). */
export interface ParamField {
  name: string;
  /** integer, number, boolean, string, path, datetime, date, time, choice, list, object or any. */
  kind: string;
  annotation: string;
  hint: string;
  required: boolean;
  default: unknown;
  nullable: boolean;
  choices: unknown[];
}

/** A pipeline before any run: its graph drawn as a run's (no states) and its parameters. */
export interface PipelineDetail {
  name: string;
  pipeline: string;
  target: string;
  fingerprint: string;
  layers: number;
  width: number;
  nodes: GraphNode[];
  edges: { source: string; target: string; after?: boolean }[];
  params: ParamField[];
}

export interface OutputPreview {
  [key: string]: unknown;
}

/** One coming instant of a schedule: UTC, its own time zone, what the clocks do that day. */
export interface DueView {
  utc: string;
  local: string;
  dst: string;
}

/** GET /schedules (each) and /schedules/{name} (with `upcoming`). */
export interface ScheduleView {
  name: string;
  pipeline: string;
  cron: string;
  after: string;
  when: string;
  tz: string;
  params: Record<string, unknown>;
  catchup: string;
  overlap: string;
  max_active: number;
  paused: boolean;
  next_due: string | null;
  last_instant: string | null;
  ticks: Record<string, number>;
  upcoming: DueView[];
}

export interface TickView {
  schedule: string;
  backfill: string | null;
  instant: string;
  interval_start: string;
  status: string;
  reason: string;
  run_id: string;
  launches: number;
  log: string;
}

/** GET /schedules/{name}/ticks: newest first; `next_before` null on the last page. */
export interface TickPage {
  ticks: TickView[];
  next_before: number | null;
}

export interface BackfillView {
  backfill_id: string;
  schedule: string;
  start: string;
  end: string;
  max_active: number;
  cancelled: boolean;
  ticks: Record<string, number>;
}
