// A pipeline's parameters as a form, one control per field's kind (a number input, a
// checkbox, a select of the choices, text for JSON and the rest), prefilled with defaults.
// The server converts and checks the values against the pipeline's signature.
import { useState, type FormEvent } from "react";
import type { ParamField } from "../api/types";
import { controlOf, sent, shown } from "../lib/params";

function Input(props: { field: ParamField; value: string; onChange: (v: string) => void }) {
  const { field: f, value, onChange } = props;
  const control = controlOf(f);
  if (control === "boolean")
    return <input type="checkbox" name={f.name} checked={value === "true"} onChange={(e) => onChange(String(e.target.checked))} />;
  if (control === "choice")
    return (
      <select name={f.name} value={value} required={f.required} onChange={(e) => onChange(e.target.value)}>
        {(!f.required || value === "") && <option value="">{f.required ? "choose…" : "(default)"}</option>}
        {f.choices.map((c) => <option key={shown(c)} value={shown(c)}>{shown(c)}</option>)}
      </select>
    );
  return (
    <input
      name={f.name}
      type={control === "integer" || control === "number" ? "number" : "text"}
      step={control === "integer" ? 1 : control === "number" ? "any" : undefined}
      className={control === "json" ? "mono" : undefined}
      value={value}
      placeholder={f.required ? "required" : f.hint || shown(f.default)}
      required={f.required}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

export function ParamsForm(props: {
  fields: ParamField[];
  submit: string;
  busy: boolean;
  /** Why it may not be sent (the caller's role), if it may not. */
  refused?: string;
  onSubmit: (params: Record<string, unknown>) => void;
  onCancel?: () => void;
}) {
  const [values, setValues] = useState<Record<string, string>>(
    Object.fromEntries(props.fields.map((f) => [f.name, controlOf(f) === "boolean" ? String(f.default === true) : shown(f.default)])),
  );
  const send = (e: FormEvent) => {
    e.preventDefault();
    const given: Record<string, unknown> = {};
    for (const f of props.fields) {
      const v = sent(f, values[f.name] ?? "");
      if (v !== undefined) given[f.name] = v;
    }
    props.onSubmit(given);
  };
  return (
    <form className="params-form" onSubmit={send}>
      {props.fields.length === 0 && <div className="muted">No parameters.</div>}
      {props.fields.map((f) => (
        <label key={f.name} className={controlOf(f) === "boolean" ? "check" : undefined}>
          <span>
            <span className="mono">{f.name}</span>
            {f.annotation && <span className="muted"> {f.annotation}</span>}
            {f.required && <span className="muted"> (required)</span>}
          </span>
          <Input field={f} value={values[f.name] ?? ""} onChange={(v) => setValues({ ...values, [f.name]: v })} />
          {f.hint && controlOf(f) === "json" && <span className="muted small">{f.hint}</span>}
        </label>
      ))}
      <div className="row">
        <button type="submit" className="primary" disabled={props.busy || props.refused != null} title={props.refused}>{props.submit}</button>
        {props.onCancel && <button type="button" onClick={props.onCancel}>Cancel</button>}
      </div>
    </form>
  );
}
