// A run followed live: its stream's patches folded into a LiveState, and the task list
// (attempts, cache, outputs) re-read at most every 2 s while patches come.
import { useEffect, useRef, useState } from "react";
import { api, API } from "../api/client";
import type { Patch, TaskView } from "../api/types";
import { useEventStream } from "../lib/hooks";
import { applyPatch, emptyLive, endLive, type LiveState } from "../lib/live";

const REREAD_MS = 2000;

export function useRunLive(runId: string) {
  const [live, setLive] = useState<LiveState>(emptyLive);
  const [tasks, setTasks] = useState<Map<string, TaskView>>(new Map());
  const [version, setVersion] = useState(0);
  const last = useRef(0);
  const timer = useRef<number | null>(null);

  const reread = () => {
    const wait = Math.max(0, last.current + REREAD_MS - Date.now());
    if (timer.current != null) return;
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

  useEffect(() => {
    reread();
    return () => {
      if (timer.current != null) window.clearTimeout(timer.current);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runId]);

  useEventStream(`${API}/runs/${encodeURIComponent(runId)}/stream`, {
    patch: (data) => {
      setLive((s) => applyPatch(s, data as Patch));
      reread();
    },
    end: (data) => {
      setLive((s) => endLive(s, (data as { state: string }).state));
      reread();
    },
  });
  return { live, tasks, version };
}
