import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ServiceAuthClient, TokenVerifier, WardenError } from "../dist/index.js";
import { countingFetch, live, manualClock } from "./helpers.js";

const verifier = new TokenVerifier({
  baseUrl: live.url,
  issuer: live.issuer,
  audience: live.audience,
});

function orders(options = {}) {
  return new ServiceAuthClient({
    baseUrl: live.url,
    clientId: live.clientId,
    clientSecret: live.clientSecret,
    scope: live.clientScope,
    ...options,
  });
}

describe("ServiceAuthClient", () => {
  test("gets a token with HTTP Basic client auth, then serves it from the cache", async () => {
    const wire = countingFetch();
    const client = orders({ fetch: wire });
    const token = await client.getAccessToken();
    assert.equal(wire.calls.length, 1);
    const [call] = wire.calls;
    assert.equal(call.path, "/api/auth/token");
    assert.equal(call.headers.get("content-type"), "application/x-www-form-urlencoded");
    const basic = Buffer.from(call.headers.get("authorization").slice(6), "base64").toString();
    assert.equal(basic, `${live.clientId}:${live.clientSecret}`);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(call.body)), {
      grant_type: "client_credentials",
      scope: live.clientScope,
    });
    assert.equal(await client.getAccessToken(), token);
    assert.deepEqual(await client.authHeader(), { Authorization: `Bearer ${token}` });
    assert.equal(wire.calls.length, 1, "the second and third calls made no request");
    const claims = await verifier.verify(token);
    assert.equal(claims.client_id, live.clientId);
    assert.equal(claims.scope, live.clientScope);
    assert.deepEqual(claims.roles, []);
  });

  test("renews after 80% of the token's lifetime, once for concurrent callers", async () => {
    const wire = countingFetch();
    const clock = manualClock();
    const client = orders({ fetch: wire, now: clock });
    const first = await client.getAccessToken();
    const { exp, iat } = JSON.parse(Buffer.from(first.split(".")[1], "base64url"));
    clock.advance((exp - iat) * 0.8 - 1);
    assert.equal(await client.getAccessToken(), first);
    assert.equal(wire.calls.length, 1);
    clock.advance(2);
    const tokens = await Promise.all(Array.from({ length: 8 }, () => client.getAccessToken()));
    assert.equal(wire.calls.length, 2, "one renewal for eight callers");
    assert.equal(new Set(tokens).size, 1);
    assert.notEqual(tokens[0], first);
    await verifier.verify(tokens[0]);
  });

  test("a failed renewal keeps serving the still-valid token; an expired one throws", async () => {
    const clock = manualClock();
    let fail = false;
    const flaky = (input, init) =>
      fail ? Promise.reject(new TypeError("fetch failed")) : fetch(input, init);
    const client = orders({ fetch: flaky, now: clock });
    const first = await client.getAccessToken();
    fail = true;
    clock.advance(800);
    assert.equal(await client.getAccessToken(), first);
    clock.advance(200);
    await assert.rejects(client.getAccessToken(), (error) => {
      assert.ok(error instanceof WardenError);
      assert.equal(error.error, "temporarily_unavailable");
      return true;
    });
  });

  test("a wrong secret is invalid_client (401)", async () => {
    const client = orders({ clientSecret: "wrong" });
    await assert.rejects(client.getAccessToken(), (error) => {
      assert.ok(error instanceof WardenError);
      assert.equal(error.error, "invalid_client");
      assert.equal(error.status, 401);
      return true;
    });
  });

  test("client id and secret are form-urlencoded before base64 (RFC 6749 2.3.1)", async () => {
    let header;
    const fake = async (_input, init) => {
      header = new Headers(init.headers).get("authorization");
      return Response.json({ access_token: "t", token_type: "Bearer", expires_in: 60 });
    };
    const client = new ServiceAuthClient({
      baseUrl: "http://warden.invalid",
      clientId: "svc one:é",
      clientSecret: "s3cr+t/=&%",
      fetch: fake,
    });
    assert.equal(await client.getAccessToken(), "t");
    const decoded = Buffer.from(header.slice("Basic ".length), "base64").toString();
    assert.equal(decoded, "svc+one%3A%C3%A9:s3cr%2Bt%2F%3D%26%25");
  });
});
