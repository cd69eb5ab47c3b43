// The first README command on a fresh machine: no DATABASE_URL, nothing set up by hand.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { freshDataDir, postgresProcessesOf, startServer } from "./server.mjs";

function psql(dataDir, sql) {
  const password = readFileSync(join(dataDir, "postgres", "password"), "utf8").trim();
  const pid = readFileSync(join(dataDir, "postgres", "pgdata", "postmaster.pid"), "utf8").split("\n");
  return execFileSync("psql", ["-h", "127.0.0.1", "-p", pid[3].trim(), "-U", "confab", "-d", "confab", "-tAc", sql], {
    env: { ...process.env, PGPASSWORD: password },
    encoding: "utf8",
  }).trim();
}

test("a fresh start serves status, health, the OpenAPI document and the docs page", async () => {
  const dataDir = freshDataDir();
  const server = await startServer(dataDir);
  try {
    assert.equal(await (await fetch(`${server.url}/status`)).text(), "OK");
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
    const spec = await (await fetch(`${server.url}/json`)).json();
    assert.match(spec.openapi, /^3\./);
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Confab API<\/title>/);
  } finally {
    const { code } = await server.stop();
    assert.equal(code, 0, server.output());
  }
  assert.deepEqual(postgresProcessesOf(dataDir), [], "stopping leaves no PostgreSQL process");
  rmSync(dataDir, { recursive: true, force: true });
});

test("a restart keeps the data, and a killed server does not break the next start", async () => {
  const dataDir = freshDataDir();
  let server = await startServer(dataDir);
  psql(dataDir, "CREATE TABLE e2e_marker (v text); INSERT INTO e2e_marker VALUES ('kept')");
  await server.stop();

  server = await startServer(dataDir);
  assert.equal(psql(dataDir, "SELECT v FROM e2e_marker"), "kept");
  const { signal } = await server.kill();
  assert.equal(signal, "SIGKILL");

  server = await startServer(dataDir);
  try {
    assert.equal((await (await fetch(`${server.url}/health`)).json()).status, "ok");
    assert.equal(psql(dataDir, "SELECT v FROM e2e_marker"), "kept");
  } finally {
    assert.equal((await server.stop()).code, 0, server.output());
  }
  assert.deepEqual(postgresProcessesOf(dataDir), []);
  rmSync(dataDir, { recursive: true, force: true });
});

test("production mode refuses to start without secrets and names the variable", async () => {
  const dataDir = freshDataDir();
  const output = (() => {
    try {
      execFileSync(process.env.CONFAB_BIN, [], {
        env: { PATH: process.env.PATH, DATA_DIR: dataDir, APP_ENV: "production", JWT_SECRET: "x".repeat(40) },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      return null;
    } catch (error) {
      return { status: error.status, stderr: error.stderr };
    }
  })();
  assert.ok(output, "the server must not start");
  assert.notEqual(output.status, 0);
  assert.match(output.stderr, /COOKIE_SECRET/);
  rmSync(dataDir, { recursive: true, force: true });
});
