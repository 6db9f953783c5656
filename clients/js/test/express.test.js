import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import express from "express";

import {
  AuthClient,
  TokenVerifier,
  authenticate,
  authorize,
  gatewayHeaders,
} from "../dist/index.js";
import { live } from "./helpers.js";

async function tokenOf(email) {
  const client = new AuthClient({ baseUrl: live.url });
  await client.login(email, live.password);
  return client.getAccessToken();
}

describe("Express middleware", () => {
  const verifier = new TokenVerifier({
    baseUrl: live.url,
    issuer: live.issuer,
    audience: live.audience,
  });
  let server;
  let base;
  let ann;
  let root;

  before(async () => {
    const app = express();
    app.get("/me", authenticate(verifier), (req, res) => {
      const { claims, ...user } = req.user;
      res.json({ ...user, sub: claims.sub });
    });
    app.get("/admin", authenticate(verifier), authorize("admin"), (req, res) => {
      res.json({ ok: true, role: req.user.role });
    });
    app.get("/orders", authenticate(verifier), authorize("user", "admin"), (_req, res) => {
      res.json({ ok: true });
    });
    // What a gateway forwards upstream: here the "upstream" echoes the identity headers.
    app.get("/proxy", gatewayHeaders(verifier), (req, res) => {
      res.json({
        id: req.headers["x-user-id"],
        role: req.headers["x-user-role"],
        roles: req.headers["x-user-roles"],
        email: req.headers["x-user-email"],
      });
    });
    app.get("/after-auth", authenticate(verifier), gatewayHeaders(verifier), (req, res) => {
      res.json({ id: req.headers["x-user-id"], roles: req.headers["x-user-roles"] });
    });
    await new Promise((resolve, reject) => {
      server = app.listen(0, "127.0.0.1", resolve).on("error", reject);
    });
    base = `http://127.0.0.1:${server.address().port}`;
    ann = await tokenOf(live.userEmail);
    root = await tokenOf(live.adminEmail);
  });

  after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });

  async function get(path, token, headers = {}) {
    const response = await fetch(`${base}${path}`, {
      headers: token ? { Authorization: `Bearer ${token}`, ...headers } : headers,
    });
    return { status: response.status, headers: response.headers, body: await response.json() };
  }

  test("401 JSON without a token", async () => {
    const answer = await get("/me");
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error, "invalid_token");
    assert.equal(typeof answer.body.error_description, "string");
    assert.equal(answer.headers.get("www-authenticate"), "Bearer");
  });

  test("401 JSON with an invalid token", async () => {
    const answer = await get("/me", `${ann}x`);
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error, "invalid_token");
    assert.equal(answer.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
    const basic = await fetch(`${base}/me`, { headers: { Authorization: `Basic ${ann}` } });
    assert.equal(basic.status, 401);
  });

  test("200 with a token: req.user has userId, email, roles and role", async () => {
    const answer = await get("/me", ann);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.userId, answer.body.sub);
    assert.equal(answer.body.email, live.userEmail);
    assert.deepEqual(answer.body.roles, ["user"]);
    assert.equal(answer.body.role, "user");
    const admin = await get("/me", root);
    assert.equal(admin.body.role, "admin", "admin wins over the first role");
    assert.deepEqual([...admin.body.roles].sort(), ["admin", "user"]);
  });

  test("authorize('admin') is 403 JSON for a plain user, 200 for an admin", async () => {
    const refused = await get("/admin", ann);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error, "forbidden");
    const allowed = await get("/admin", root);
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.role, "admin");
    assert.equal((await get("/orders", ann)).status, 200, "any one of the roles will do");
  });

  test("gatewayHeaders sets x-user-* from the token and drops client-sent copies", async () => {
    const me = (await get("/me", root)).body;
    const answer = await get("/proxy", root, {
      "X-User-Id": "someone-else",
      "X-User-Role": "admin",
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, {
      id: me.userId,
      role: "admin",
      roles: me.roles.join(","),
      email: live.adminEmail,
    });
    const chained = await get("/after-auth", ann);
    assert.equal(chained.body.roles, "user");
  });

  test("gatewayHeaders without a token is 401 and forwards nothing", async () => {
    const answer = await fetch(`${base}/proxy`, { headers: { "X-User-Id": "forged" } });
    assert.equal(answer.status, 401);
    assert.equal((await answer.json()).error, "invalid_token");
  });
});
