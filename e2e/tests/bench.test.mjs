// A quick run of the load generator against a real server: it must complete with no message
// lost. Not a speed check (those live in BENCHMARKS.md).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { test } from "node:test";

import { freshDataDir, startServer } from "./server.mjs";

test("the benchmark's smoke scenario completes with zero lost messages", async () => {
  const bench = process.env.CONFAB_BENCH_BIN;
  assert.ok(bench, "CONFAB_BENCH_BIN must point at the built confab-bench (scripts/test sets it)");
  const dataDir = freshDataDir();
  const server = await startServer(dataDir);
  try {
    const out = execFileSync(bench, ["--url", server.url, "smoke"], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, LOG_LEVEL: "warn" },
      encoding: "utf8",
      timeout: 120_000,
    });
    const line = out.trim().split("\n").pop();
    const { report } = JSON.parse(line);
    assert.equal(report.lost, 0);
    assert.equal(report.errors, 0);
    assert.equal(report.sent_ok, 150);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
