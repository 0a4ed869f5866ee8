import { Fragment, useState } from "react";
import { api } from "../api/client";
import type { OutputView } from "../api/types";
import { bytes, json } from "../lib/format";

/** A stored output's metadata, and its preview on demand (the server never unpickles). */
export function OutputInfo(props: { runId: string; task: string; attempt: number; output: OutputView }) {
  const { output } = props;
  const [preview, setPreview] = useState<string | null>(null);
  const load = () =>
    api.output(props.runId, props.task, props.attempt).then(
      (p) => setPreview(JSON.stringify(p, null, 2)),
      (e: Error) => setPreview(e.message),
    );
  return (
    <div>
      <dl className="kv">
        <dt>size</dt><dd>{bytes(output.size)}</dd>
        <dt>serializer</dt><dd>{output.serializer}</dd>
        <dt>checksum</dt><dd className="mono">{output.checksum.slice(0, 16)}</dd>
        {Object.entries(output.meta).map(([k, v]) => (
          <Fragment key={k}><dt>{k}</dt><dd className="mono">{json(v)}</dd></Fragment>
        ))}
      </dl>
      {preview == null ? <button onClick={load}>Preview</button> : <pre className="preview">{preview}</pre>}
    </div>
  );
}
