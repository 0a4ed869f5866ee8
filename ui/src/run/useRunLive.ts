// A run followed live: its stream's patches folded into a LiveState, a frame's worth at a
// time (a big run's history arrives as hundreds of patches at once); and, for runs small
// enough to list whole, the task list (attempts, cache, outputs), re-read at most every 2 s
// while patches come. Bigger runs show what the stream carries: followed "from now" (their
// history is not replayed), their summary and graph (map counts per state) are re-read at
// most every 2 s while patches come, as the task list of a small run is.
import { useEffect, useRef, useState } from "react";
import { api, API } from "../api/client";
import type { Patch, TaskView } from "../api/types";
import { useEventStream } from "../lib/hooks";
import { applyPatches, emptyLive, endLive, type LiveState } from "../lib/live";

const REREAD_MS = 2000;
const FLUSH_MS = 100;
/** The most tasks a run may have for its whole task list to be read. */
export const LISTED_TASKS = 5000;

/** How a run's stream is followed: its whole history replayed, only what changes from now, or not. */
export type Follow = "all" | "now" | null;

export function useRunLive(runId: string, taskCount: number | null, follow: Follow) {
  const [live, setLive] = useState<LiveState>(emptyLive);
  const [tasks, setTasks] = useState<Map<string, TaskView>>(new Map());
  const [version, setVersion] = useState(0);
  const last = useRef(0);
  const timer = useRef<number | null>(null);
  const queue = useRef<Patch[]>([]);
  const flusher = useRef<number | null>(null);
  const listed = taskCount != null && taskCount <= LISTED_TASKS;
  /** Bumped when a big run's summary and graph should be read again. */
  const [counted, setCounted] = useState(0);

  const reread = () => {
    if (taskCount == null || timer.current != null) return;
    if (!listed) {
      if (follow == null) return;
      const wait = Math.max(0, last.current + REREAD_MS - Date.now());
      timer.current = window.setTimeout(() => {
        timer.current = null;
        last.current = Date.now();
        setCounted((c) => c + 1);
      }, wait);
      return;
    }
    const wait = Math.max(0, last.current + REREAD_MS - Date.now());
    timer.current = window.setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      api.tasks(runId).then(
        (t) => {
          setTasks(new Map(t.tasks.map((x) => [x.key, x])));
          setVersion((v) => v + 1);
        },
        () => {},
      );
    }, wait);
  };

  const flush = () => {
    flusher.current = null;
    const batch = queue.current;
    queue.current = [];
    if (batch.length) {
      setLive((s) => applyPatches(s, batch));
      reread();
    }
  };

  useEffect(() => {
    if (listed) reread();
    return () => {
      if (timer.current != null) window.clearTimeout(timer.current);
      if (flusher.current != null) window.clearTimeout(flusher.current);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runId, listed]);

  const stream = `${API}/runs/${encodeURIComponent(runId)}/stream`;
  useEventStream(follow == null ? null : follow === "now" ? `${stream}?from_now=true` : stream, {
    patch: (data) => {
      queue.current.push(data as Patch);
      if (flusher.current == null) flusher.current = window.setTimeout(flush, FLUSH_MS);
    },
    end: (data) => {
      flush();
      setLive((s) => endLive(s, (data as { state: string }).state));
      last.current = 0;
      reread();
    },
  });
  return { live, tasks, version, listed, counted };
}
