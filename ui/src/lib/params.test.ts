import { describe, expect, it } from "vitest";
import { fieldsOf, parseLines } from "./params";

describe("params", () => {
  it("reads name=value lines and names a bad line", () => {
    expect(parseLines("a=1\n\n b = x=y ")).toEqual({ a: "1", b: "x=y" });
    expect(() => parseLines("a=1\noops")).toThrow("line 2");
  });
  it("reads a schema of properties", () => {
    const fields = fieldsOf({
      name: "p",
      params: { properties: { lr: { type: "number", default: 0.1 } }, required: ["lr"] },
    });
    expect(fields).toEqual([{ name: "lr", type: "number", default: 0.1, required: true, description: undefined }]);
    expect(fieldsOf({ name: "p" })).toBeNull();
  });
});
