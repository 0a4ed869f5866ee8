// Data hooks: one request per dependency change (answers to an older request are dropped),
// and an event stream that the browser reconnects itself (with Last-Event-ID).
import { useEffect, useRef, useState } from "react";

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

export function useApi<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (found) => {
        if (!live) return;
        setData(found);
        setError(null);
        setLoading(false);
      },
      (e: Error) => {
        if (!live) return;
        setError(e.message);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}

/** Listen to `url`'s named events while `url` is set; handlers may change every render. */
export function useEventStream(
  url: string | null,
  handlers: Record<string, (data: unknown, id: string) => void>,
): void {
  const current = useRef(handlers);
  current.current = handlers;
  const names = Object.keys(handlers).sort().join(",");
  useEffect(() => {
    if (!url) return;
    const source = new EventSource(url, { withCredentials: true });
    for (const name of names.split(",")) {
      source.addEventListener(name, (e) => {
        const message = e as MessageEvent<string>;
        if (name === "end") source.close(); // the run ended: nothing more will come
        current.current[name]?.(JSON.parse(message.data), message.lastEventId);
      });
    }
    return () => source.close();
  }, [url, names]);
}

/** Seconds since the epoch, advancing every `every` ms (for "3 s ago" and live durations). */
export function useNow(every = 1000): number {
  const [now, setNow] = useState(Date.now() / 1000);
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now() / 1000), every);
    return () => window.clearInterval(timer);
  }, [every]);
  return now;
}
