// A pipeline's parameters as form fields (GET /pipelines/{name} describes them) and the
// values a form sends.
import type { ParamField } from "../api/types";

/** The form's input for a field: each kind the server names gets its own control. */
export type Control = "integer" | "number" | "boolean" | "choice" | "json" | "text";

export function controlOf(field: ParamField): Control {
  switch (field.kind) {
    case "integer":
    case "number":
    case "boolean":
    case "choice":
      return field.kind;
    case "list":
    case "object":
      return "json";
    default:
      return "text";
  }
}

/** A value as the form's text shows it ("" for none). */
export function shown(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A field for a parameter known only by a value (a past run's): its kind from the value. */
export function fieldOfValue(name: string, value: unknown): ParamField {
  const kind =
    typeof value === "boolean" ? "boolean"
    : Number.isInteger(value) ? "integer"
    : typeof value === "number" ? "number"
    : Array.isArray(value) ? "list"
    : value !== null && typeof value === "object" ? "object"
    : "any";
  return { name, kind, annotation: "", hint: "", required: false, default: value, nullable: value === null, choices: [] };
}

/**
 * What a form sends for one field from its text ``raw``: numbers and booleans as JSON values,
 * anything else as the text `legato run -p` takes; ``undefined`` (not sent: the pipeline's
 * default applies) for an empty field.
 */
export function sent(field: ParamField, raw: string): unknown {
  const control = controlOf(field);
  if (control === "boolean") return raw === "true";
  if (raw.trim() === "") return undefined;
  if (control === "integer" || control === "number") {
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw; // the server names what is wrong with the text
  }
  return raw;
}
