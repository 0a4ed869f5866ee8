import { describe, expect, it } from "vitest";
import type { ParamField } from "../api/types";
import { controlOf, fieldOfValue, sent } from "./params";

const field = (kind: string, extra: Partial<ParamField> = {}): ParamField => ({
  name: "p", kind, annotation: "", hint: "", required: false, default: null, nullable: false, choices: [], ...extra,
});

describe("params", () => {
  it("gives each kind its control", () => {
    expect(["integer", "number", "boolean", "choice", "list", "object", "path", "any"].map((k) => controlOf(field(k)))).toEqual(
      ["integer", "number", "boolean", "choice", "json", "json", "text", "text"],
    );
  });
  it("sends numbers and booleans as values, an empty field not at all", () => {
    expect(sent(field("integer"), "3")).toBe(3);
    expect(sent(field("number"), "0.5")).toBe(0.5);
    expect(sent(field("number"), "abc")).toBe("abc");
    expect(sent(field("boolean"), "false")).toBe(false);
    expect(sent(field("string"), "")).toBeUndefined();
    expect(sent(field("list"), "[1, 2]")).toBe("[1, 2]");
  });
  it("infers a past run's parameter kinds from its values", () => {
    expect([1, 0.5, true, [1], { a: 1 }, "x"].map((v) => fieldOfValue("p", v).kind)).toEqual(
      ["integer", "number", "boolean", "list", "object", "any"],
    );
  });
});
