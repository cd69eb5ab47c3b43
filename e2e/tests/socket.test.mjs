// Socket.IO on the HTTP port with the official client: websocket only, and polling with upgrade.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { rmSync } from "node:fs";
import { io } from "socket.io-client";

import { TIMEOUT_MS, createSession, freshDataDir, startServer } from "./server.mjs";

let server;
let dataDir;
let token;
before(async () => {
  dataDir = freshDataDir();
  server = await startServer(dataDir);
  token = createSession(dataDir, "transport");
});
after(async () => {
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function connected(socket) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no connect within the timeout")), TIMEOUT_MS);
    socket.on("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on("connect_error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

test("a websocket-only client connects on the HTTP port", async () => {
  const socket = io(server.url, { transports: ["websocket"], reconnection: false, auth: { token } });
  try {
    await connected(socket);
    assert.equal(socket.io.engine.transport.name, "websocket");
  } finally {
    socket.close();
  }
});

test("a default client starts on polling and upgrades to websocket", async () => {
  const socket = io(server.url, { reconnection: false, auth: { token } });
  try {
    await connected(socket);
    if (socket.io.engine.transport.name !== "websocket") {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no upgrade within the timeout")), TIMEOUT_MS);
        socket.io.engine.once("upgrade", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    assert.equal(socket.io.engine.transport.name, "websocket");
  } finally {
    socket.close();
  }
});

test("clients are disconnected promptly when the server shuts down", async () => {
  const ownDir = freshDataDir();
  const own = await startServer(ownDir);
  const ownToken = createSession(ownDir, "shutdown");
  const socket = io(own.url, { transports: ["websocket"], reconnection: false, auth: { token: ownToken } });
  await connected(socket);
  const reason = new Promise((resolve) => socket.on("disconnect", resolve));
  const stopped = own.stop();
  assert.match(await reason, /transport close|io server disconnect/);
  assert.equal((await stopped).code, 0);
  rmSync(ownDir, { recursive: true, force: true });
});
