// A pipeline's parameters as form fields, from whatever shape GET /pipelines/{name} gives
// (a list of fields, or a JSON-schema-like object of properties); and free `name=value`
// lines when the server describes none.
import type { ParamField, PipelineDetail } from "../api/types";

export function fieldsOf(detail: PipelineDetail | null): ParamField[] | null {
  const p = detail?.params as unknown;
  if (!p) return null;
  if (Array.isArray(p)) return p as ParamField[];
  const obj = p as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  if (obj.properties) {
    const required = new Set(obj.required ?? []);
    return Object.entries(obj.properties).map(([name, s]) => ({
      name,
      type: typeof s.type === "string" ? s.type : undefined,
      default: s.default,
      required: required.has(name),
      description: typeof s.description === "string" ? s.description : undefined,
    }));
  }
  return Object.entries(obj as Record<string, unknown>).map(([name, v]) => ({ name, default: v }));
}

/** `name=value` lines as parameters; an error names the line that has no `=`. */
export function parseLines(text: string): Record<string, string> {
  const found: Record<string, string> = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const at = line.indexOf("=");
    if (at <= 0) throw new Error(`line ${i + 1} is not name=value: ${line}`);
    found[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  });
  return found;
}
