// Starts and stops the real `confab` binary for end-to-end tests, on the embedded database default.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TIMEOUT_MS = 30_000;

const BIN = process.env.CONFAB_BIN;
if (!BIN) throw new Error("CONFAB_BIN must point at the built confab binary (scripts/test sets it)");

export function freshDataDir() {
  return mkdtempSync(join(tmpdir(), "confab-e2e-"));
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A running server: `url`, `stop()` (SIGTERM, waits), `kill()` (SIGKILL, waits). */
export async function startServer(dataDir, env = {}) {
  const port = await freePort();
  const child = spawn(BIN, [], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`confab exited early:\n${output}`);
    try {
      const response = await fetch(`${url}/status`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`confab did not start within ${TIMEOUT_MS} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stopWith = async (signal) => {
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };
  return {
    url,
    output: () => output,
    stop: () => stopWith("SIGTERM"),
    kill: () => stopWith("SIGKILL"),
  };
}

/** Creates (if needed) a user and a session with `confab session create`; returns the token. */
export function createSession(dataDir, username) {
  return execFileSync(BIN, ["session", "create", "--username", username], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, LOG_LEVEL: "warn" },
    encoding: "utf8",
  }).trim();
}

/** A JSON request with a bearer token; resolves to { status, body }. */
export async function api(server, token, method, path, body) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** PIDs of PostgreSQL processes whose command line names this data directory. */
export function postgresProcessesOf(dataDir) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes("postgres") && cmdline.includes(dataDir)) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}
