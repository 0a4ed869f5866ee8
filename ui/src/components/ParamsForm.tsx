// A pipeline's parameters as a form. Values are sent as text, as `legato run -p name=value`
// takes them: the server converts and checks them against the pipeline's signature.
import { useState, type FormEvent } from "react";
import type { ParamField } from "../api/types";

function shown(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function ParamsForm(props: {
  fields: ParamField[];
  submit: string;
  busy: boolean;
  onSubmit: (params: Record<string, string>) => void;
  onCancel?: () => void;
}) {
  const [values, setValues] = useState<Record<string, string>>(
    Object.fromEntries(props.fields.map((f) => [f.name, shown(f.default)])),
  );
  const send = (e: FormEvent) => {
    e.preventDefault();
    const given: Record<string, string> = {};
    for (const f of props.fields) if (values[f.name]) given[f.name] = values[f.name];
    props.onSubmit(given);
  };
  return (
    <form className="params-form" onSubmit={send}>
      {props.fields.length === 0 && <div className="muted">No parameters.</div>}
      {props.fields.map((f) => (
        <label key={f.name}>
          <span className="mono">{f.name}</span>
          {f.type && <span className="muted"> {f.type}</span>}
          <input
            name={f.name}
            value={values[f.name] ?? ""}
            placeholder={f.required ? "required" : shown(f.default)}
            required={f.required}
            onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
          />
          {f.description && <span className="muted small">{f.description}</span>}
        </label>
      ))}
      <div className="row">
        <button type="submit" className="primary" disabled={props.busy}>{props.submit}</button>
        {props.onCancel && <button type="button" onClick={props.onCancel}>Cancel</button>}
      </div>
    </form>
  );
}
