// A mapped task's items as a virtualised list read a page at a time from the API
// (GET /runs/{run}/tasks/{task}/items, filtered by state on the server): a 100,000-item map
// is a scroll of a few dozen rows, and opening it reads one page, not the run's history.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api/client";
import type { LiveTask } from "../api/types";
import { StateBadge } from "../components/StateBadge";
import { VirtualList } from "../components/VirtualList";
import { duration } from "../lib/format";
import { pagesOf } from "../lib/pages";

const PAGE = 200;
const REREAD_MS = 2000;

export function MapItems(props: {
  runId: string;
  taskKey: string;
  counts: Record<string, number>;
  /** Changes when the run has changed (its stream's patches): the rows in view are read again. */
  version: number;
  onSelect: (key: string) => void;
}) {
  const { runId, taskKey, counts, version } = props;
  const [state, setState] = useState("");
  const [total, setTotal] = useState<number | null>(null);
  const [pages, setPages] = useState<Map<number, LiveTask[]>>(new Map());
  const [range, setRange] = useState<[number, number]>([0, PAGE]);
  const asked = useRef(new Set<number>()); // pages read (or being read) for this filter
  const filter = `${runId}\n${taskKey}\n${state}`;
  const current = useRef(filter);
  current.current = filter;

  const read = useCallback(
    (page: number) => {
      const wanted = filter;
      asked.current.add(page);
      api.items(runId, taskKey, { state: state || undefined, offset: page * PAGE, limit: PAGE }).then(
        (found) => {
          if (current.current !== wanted) return; // the filter changed meanwhile
          setTotal(found.total);
          setPages((p) => new Map(p).set(page, found.items));
        },
        () => asked.current.delete(page),
      );
    },
    [filter, runId, taskKey, state],
  );

  // A new filter: start again from its first page.
  useEffect(() => {
    asked.current = new Set();
    setPages(new Map());
    setTotal(null);
    read(0);
  }, [read]);

  // The pages the rows in view fall on, read once each.
  useEffect(() => {
    for (const page of pagesOf(range[0], range[1], PAGE)) if (!asked.current.has(page)) read(page);
  }, [range, read]);

  // The run changed: the pages in view read again, at most every 2 s.
  const last = useRef(Date.now());
  useEffect(() => {
    if (version === 0) return;
    const wait = Math.max(0, last.current + REREAD_MS - Date.now());
    const timer = window.setTimeout(() => {
      last.current = Date.now();
      for (const page of pagesOf(range[0], range[1], PAGE)) read(page);
    }, wait);
    return () => window.clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [version]);

  const rows = useMemo(() => {
    const all: (LiveTask | undefined)[] = new Array(total ?? 0);
    for (const [page, items] of pages) items.forEach((t, i) => (all[page * PAGE + i] = t));
    return all;
  }, [pages, total]);
  const onRange = useCallback((first: number, last: number) => setRange([first, last]), []);
  const states = Object.keys(counts).filter((s) => counts[s] > 0).sort();
  const all = Object.values(counts).reduce((a, b) => a + b, 0);
  return (
    <div className="map-items" data-total={total ?? ""}>
      <div className="filters">
        <select value={state} onChange={(e) => setState(e.target.value)} aria-label="item state">
          <option value="">all {all} items</option>
          {states.map((s) => <option key={s} value={s}>{s} ({counts[s]})</option>)}
        </select>
      </div>
      <VirtualList
        items={rows}
        rowHeight={28}
        height={320}
        onRange={onRange}
        render={(t, i) =>
          t ? (
            <div className="item-row" onClick={() => props.onSelect(t.key)}>
              <span className="mono item-key">{t.key}</span>
              <StateBadge state={t.state} />
              <span className="muted">
                {duration(t.started_at != null && t.ended_at != null ? t.ended_at - t.started_at : null)}
              </span>
            </div>
          ) : (
            <div className="item-pending muted">item {i + 1}…</div>
          )
        }
      />
    </div>
  );
}
