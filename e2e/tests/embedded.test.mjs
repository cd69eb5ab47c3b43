// The first README command on a fresh machine: no DATABASE_URL, nothing set up by hand.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
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

/** Runs `confab ARGS` to completion with a minimal environment; returns { status, stdout, stderr }. */
function confab(args, env) {
  const result = spawnSync(process.env.CONFAB_BIN, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("session create prints only the token on stdout, and db stop leaves a running server's cluster alone", async () => {
  const dataDir = freshDataDir();
  const server = await startServer(dataDir);
  try {
    // Logs at info, as JSON: they must all go to stderr, so that TOKEN=$(confab session create …) works.
    const env = { DATA_DIR: dataDir, LOG_LEVEL: "info", LOG_FORMAT: "json" };
    const created = confab(["session", "create", "--username", "stdout-check"], env);
    assert.equal(created.status, 0, created.stderr);
    const lines = created.stdout.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, `stdout: ${created.stdout}`);
    assert.match(lines[0], /^[\w-]+\.[\w-]+\.[\w-]+$/, "a JWT");
    assert.match(created.stderr, /session created/);
    const me = await fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${lines[0]}` } });
    assert.equal(me.status, 200);

    const stop = confab(["db", "stop"], env);
    assert.notEqual(stop.status, 0);
    assert.match(stop.stderr, /--force/);
    assert.equal((await fetch(`${server.url}/health`)).status, 200, "the cluster still runs");
  } finally {
    assert.equal((await server.stop()).code, 0, server.output());
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test("commands that need a database refuse to create one, naming DATA_DIR", () => {
  const dataDir = freshDataDir();
  for (const args of [["session", "create", "--username", "nobody"], ["migrate"]]) {
    const result = confab(args, { DATA_DIR: dataDir });
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stdout, "");
    assert.ok(result.stderr.includes(dataDir), result.stderr);
    assert.match(result.stderr, /confab serve/);
  }
  assert.ok(!existsSync(join(dataDir, "postgres")), "no cluster was created");
  rmSync(dataDir, { recursive: true, force: true });
});

test("usage errors exit with 2 and say what was wrong; --help and --version exit with 0", () => {
  const missing = confab(["session", "create"], {});
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--username/);
  assert.equal(confab(["frobnicate"], {}).status, 2);
  for (const args of [["--help"], ["session", "create", "--help"], ["db", "stop", "--help"], ["--version"]]) {
    const result = confab(args, {});
    assert.equal(result.status, 0, args.join(" "));
    assert.notEqual(result.stdout, "");
  }
});

test("a port in use stops the server before the database starts, with a hint", async () => {
  const blocker = createServer();
  await new Promise((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const { port } = blocker.address();
  const dataDir = freshDataDir();
  try {
    const result = confab([], { DATA_DIR: dataDir, HOST: "127.0.0.1", PORT: String(port) });
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`port ${port} is in use.*PORT=`));
    assert.ok(!existsSync(join(dataDir, "postgres")), "the embedded database was not started");
  } finally {
    blocker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a start right after kill -9 of both the server and its postmaster succeeds", async () => {
  const dataDir = freshDataDir();
  let server = await startServer(dataDir);
  const postmaster = Number(readFileSync(join(dataDir, "postgres", "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);
  await server.kill();
  process.kill(postmaster, "SIGKILL");
  // At once: the dead postmaster may still be a zombie that `pg_ctl status` reports as running.
  server = await startServer(dataDir);
  try {
    assert.equal((await (await fetch(`${server.url}/health`)).json()).status, "ok");
  } finally {
    assert.equal((await server.stop()).code, 0, server.output());
  }
  assert.deepEqual(postgresProcessesOf(dataDir), []);
  rmSync(dataDir, { recursive: true, force: true });
});
