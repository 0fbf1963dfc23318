import { defineConfig } from "@playwright/test";

// The backend is started by tests/test_web.py (pytest) and passed in; see frontend/README.md.
const baseURL = process.env.TASKBEAT_E2E_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  testDir: "tests/e2e",
  timeout: 240_000, // a shared 2-core machine: generous, the steps wait on conditions
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results/artifacts",
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    },
  },
});
