import { describe, expect, it } from "vitest";
import { pagesOf } from "./pages";

describe("pagesOf", () => {
  it("names each page the rows fall on, once", () => {
    expect(pagesOf(0, 20, 200)).toEqual([0]);
    expect(pagesOf(190, 215, 200)).toEqual([0, 1]);
    expect(pagesOf(200, 400, 200)).toEqual([1]);
    expect(pagesOf(99_980, 100_000, 200)).toEqual([499]);
    expect(pagesOf(5, 5, 200)).toEqual([]);
  });
});
