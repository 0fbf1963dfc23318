import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The backend the dev server proxies to (`scripts/run.sh` serves it on :8000).
const backend = process.env.TASKBEAT_BACKEND ?? "http://127.0.0.1:8000";

// Unit tests run in a device zone unlike the profiles' they use (tests/unit/dates.test.ts),
// so a date helper that fell back on the device's zone fails.
if (process.env.VITEST) process.env.TZ = "America/Los_Angeles";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    // No inline scripts or data: URLs, so the page runs under `script-src 'self'`.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
  server: {
    port: 5173,
    proxy: {
      "/api": { target: backend, changeOrigin: false },
      "/ws": { target: backend.replace(/^http/, "ws"), ws: true },
      "/admin": { target: backend },
      "/static": { target: backend },
    },
  },
  test: {
    environment: "jsdom",
    include: ["tests/unit/**/*.test.ts", "tests/unit/**/*.test.tsx"],
    setupFiles: ["tests/unit/setup.ts"],
  },
});
