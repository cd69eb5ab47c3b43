// Two instances over one PostgreSQL and one Redis (contract §7), with the official socket.io-client
// in its default transports (polling, then the upgrade to WebSocket): alice on one instance, bob on
// the other, each client sticking to its instance as a load balancer would keep it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { after, before, test } from "node:test";
import { io } from "socket.io-client";

import { TIMEOUT_MS, api, createSession, freshDataDir, startServer } from "./server.mjs";

let redis;
let first;
let second;
let dataDir;
const users = {};

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

before(async () => {
  const port = await freePort();
  redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const env = { REDIS_URL: `redis://127.0.0.1:${port}`, PRESENCE_GRACE: "0" };
  dataDir = freshDataDir();
  first = await startServer(dataDir, env);
  // The second instance shares the first one's embedded database (and DATA_DIR, so its secrets).
  const pg = `${dataDir}/postgres`;
  const pgPort = readFileSync(`${pg}/pgdata/postmaster.pid`, "utf8").split("\n")[3].trim();
  const password = readFileSync(`${pg}/password`, "utf8").trim();
  second = await startServer(dataDir, {
    ...env,
    DATABASE_URL: `postgres://confab:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/confab`,
  });
  for (const name of ["alice", "bob"]) {
    const token = createSession(dataDir, name);
    users[name] = { token, id: (await api(first, token, "GET", "/auth/me")).body.id };
  }
});
after(async () => {
  await second?.stop();
  await first?.stop();
  redis?.kill("SIGKILL");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Resolves with the arguments of the next `name` event on `socket` (bounded). */
function next(socket, name, accept = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within the timeout`)), TIMEOUT_MS);
    const handler = (...args) => {
      if (!accept(args)) return;
      clearTimeout(timer);
      socket.off(name, handler);
      resolve(args);
    };
    socket.on(name, handler);
  });
}

function connect(server, user) {
  const socket = io(server.url, { auth: { token: user.token }, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

test("messages, typing and presence cross instances with the default transports", async () => {
  const bob = await connect(second, users.bob);
  const conversation = (await api(first, users.alice.token, "POST", `/conversations/${users.bob.id}`)).body;
  const online = next(bob, "user_status_changed", ([id]) => id === users.alice.id);
  const alice = await connect(first, users.alice);
  assert.deepEqual(await online, [users.alice.id, "online"]);

  const received = next(bob, "new_message");
  const sent = await api(first, users.alice.token, "POST", `/conversations/${conversation.id}/messages`, {
    content: "across instances",
  });
  assert.equal(sent.status, 201);
  const [message, cursor] = await received;
  assert.equal(message.id, sent.body.id);
  assert.ok(cursor.cursor, "durable events carry their cursor across instances too");

  const typing = next(alice, "user_typing");
  bob.emit("typing", conversation.id, true);
  assert.deepEqual(await typing, [users.bob.id, true, conversation.id]);

  const offline = next(bob, "user_status_changed", ([id, status]) => id === users.alice.id && status === "offline");
  alice.disconnect();
  assert.deepEqual(await offline, [users.alice.id, "offline"]);
  bob.disconnect();
});
