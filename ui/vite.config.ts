import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The built app goes into the Python package, so `pip install legato[ui]` serves it with no
// Node. Hashed file names under assets/ let the server cache them for a year.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/legato/server/static",
    emptyOutDir: true,
    assetsDir: "assets",
    chunkSizeWarningLimit: 1000,
    modulePreload: { polyfill: false }, // the polyfill is an inline script: CSP forbids it
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
