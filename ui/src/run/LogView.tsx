// An attempt's log, opened at its tail (the API answers the end first; 256 KiB a window);
// "earlier" reads the window before; "follow" polls for what was appended while the task
// runs. The text is one <pre>: a million lines cost the browser one text node per window.
import { useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import { bytes } from "../lib/format";

const FOLLOW_MS = 1000;
/** Bytes a window holds: the tail first, earlier windows on demand. */
const WINDOW = 256 * 1024;

export function LogView(props: { runId: string; task: string; attempt: number; live: boolean }) {
  const { runId, task, attempt, live } = props;
  const [text, setText] = useState("");
  const [start, setStart] = useState(0);
  const [end, setEnd] = useState(0);
  const [size, setSize] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setFollow] = useState<boolean | null>(null);
  const follow = chosen ?? live; // follows a running task until told otherwise
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    let alive = true;
    setText("");
    api.logs(runId, task, attempt, { limit: WINDOW }).then(
      (c) => {
        if (!alive) return;
        setText(c.text);
        setStart(c.start);
        setEnd(c.end);
        setSize(c.size);
        setError(null);
      },
      (e: Error) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [runId, task, attempt]);

  useEffect(() => {
    if (!follow) return;
    const timer = window.setInterval(() => {
      api.logs(runId, task, attempt, { start: end }).then((c) => {
        if (c.end > end) {
          setText((t) => t + c.text);
          setEnd(c.end);
        }
        setSize(c.size);
      }, () => {});
    }, FOLLOW_MS);
    return () => window.clearInterval(timer);
  }, [follow, runId, task, attempt, end]);

  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [text]);

  const earlier = () =>
    api.logs(runId, task, attempt, { end: start, limit: WINDOW }).then((c) => {
      setText((t) => c.text + t);
      setStart(c.start);
    });

  return (
    <div className="logview">
      <div className="log-bar">
        <span className="muted">
          {size ? `${bytes(end - start)} of ${bytes(size)}` : "nothing written"}
        </span>
        {start > 0 && <button onClick={earlier}>Earlier</button>}
        <label className="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow
        </label>
      </div>
      {error ? <div className="error">{error}</div> : text ? (
        <pre ref={box} className="log" data-testid="log">{text}</pre>
      ) : null}
    </div>
  );
}
