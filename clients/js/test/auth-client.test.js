import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { AuthClient, TokenVerifier, WardenError } from "../dist/index.js";
import { countingFetch, live, manualClock, postJson, totpCode } from "./helpers.js";

const verifier = new TokenVerifier({
  baseUrl: live.url,
  issuer: live.issuer,
  audience: live.audience,
});

async function signedIn(options = {}) {
  const client = new AuthClient({ baseUrl: live.url, ...options });
  const result = await client.login(live.userEmail, live.password);
  assert.equal(result.mfaRequired, false);
  return client;
}

describe("AuthClient", () => {
  test("login, getAccessToken and the verifier accepts the token", async () => {
    const wire = countingFetch();
    const client = await signedIn({ fetch: wire });
    assert.equal(wire.calls.length, 1);
    assert.deepEqual(JSON.parse(wire.calls[0].body), {
      email: live.userEmail,
      password: live.password,
    });
    assert.ok(client.signedIn);
    const token = await client.getAccessToken();
    assert.equal(wire.calls.length, 1, "a fresh token is served from memory");
    const claims = await verifier.verify(token);
    assert.equal(claims.email, live.userEmail);
    assert.deepEqual(claims.roles, ["user"]);
    assert.equal(claims.token_type, "access");
    assert.equal(typeof claims.sid, "string");
    assert.deepEqual(await client.authHeader(), { Authorization: `Bearer ${token}` });
  });

  test("refresh stores the rotated refresh token; Warden refuses the spent one", async () => {
    const rotated = [];
    const client = await signedIn({ onRefreshToken: (token) => rotated.push(token) });
    const spent = client.refreshToken;
    const before = await client.getAccessToken();
    const after = await client.refresh();
    assert.notEqual(after, before);
    assert.notEqual(client.refreshToken, spent);
    assert.deepEqual(rotated, [spent, client.refreshToken]);
    // Within Warden's grace window a repeat of the spent token is a retry after a lost
    // answer: it gets the very successor the client already holds, and the session lives.
    const replay = await postJson("/api/auth/refresh", { refresh_token: spent });
    assert.equal(replay.status, 200);
    assert.equal(replay.body.refresh_token, client.refreshToken);
    await verifier.verify(await client.refresh());
    // Two generations back is reuse, never answered.
    const stale = await postJson("/api/auth/refresh", { refresh_token: spent });
    assert.equal(stale.status, 400);
    assert.equal(stale.body.error, "invalid_grant");
  });

  test("getAccessToken refreshes 30 s before expiry, once for concurrent callers", async () => {
    const wire = countingFetch();
    const clock = manualClock();
    const client = await signedIn({ fetch: wire, now: clock });
    const first = await client.getAccessToken();
    const lifetime = JSON.parse(Buffer.from(first.split(".")[1], "base64url")).exp -
      JSON.parse(Buffer.from(first.split(".")[1], "base64url")).iat;
    clock.advance(lifetime - 31);
    assert.equal(await client.getAccessToken(), first, "not yet in the refresh window");
    assert.equal(wire.to("/api/auth/refresh").length, 0);
    clock.advance(2);
    const tokens = await Promise.all(Array.from({ length: 8 }, () => client.getAccessToken()));
    assert.equal(wire.to("/api/auth/refresh").length, 1, "one refresh for eight callers");
    assert.equal(new Set(tokens).size, 1);
    assert.notEqual(tokens[0], first);
    await verifier.verify(tokens[0]);
    assert.equal(await client.getAccessToken(), tokens[0]);
    assert.equal(wire.to("/api/auth/refresh").length, 1);
  });

  test("logout ends the session: refresh then fails with invalid_grant", async () => {
    const wire = countingFetch();
    const client = await signedIn({ fetch: wire });
    const token = client.refreshToken;
    await client.logout();
    const logout = wire.to("/api/auth/logout");
    assert.equal(logout.length, 1);
    assert.deepEqual(JSON.parse(logout[0].body), { refresh_token: token });
    assert.equal(client.signedIn, false);
    await assert.rejects(client.refresh(), (error) => {
      assert.ok(error instanceof WardenError);
      assert.equal(error.error, "invalid_grant");
      return true;
    });
    // Warden itself refuses the token now, for a client that still holds it.
    const holder = new AuthClient({ baseUrl: live.url, refreshToken: token });
    await assert.rejects(holder.getAccessToken(), (error) => {
      assert.ok(error instanceof WardenError);
      assert.equal(error.error, "invalid_grant");
      assert.equal(error.status, 400);
      assert.match(error.description, /ended|invalid|revoked/);
      return true;
    });
    assert.equal(holder.signedIn, false, "a refused refresh token is forgotten");
  });

  test("a starting refresh token signs the client in", async () => {
    const first = await signedIn();
    const second = new AuthClient({ baseUrl: live.url, refreshToken: first.refreshToken });
    const claims = await verifier.verify(await second.getAccessToken());
    assert.equal(claims.email, live.userEmail);
  });

  test("wrong password is a WardenError from Warden's error body", async () => {
    const client = new AuthClient({ baseUrl: `${live.url}/` });
    await assert.rejects(client.login(live.userEmail, "not-the-password"), (error) => {
      assert.ok(error instanceof WardenError);
      assert.equal(error.error, "invalid_grant");
      assert.equal(error.status, 400);
      assert.equal(error.description, "Invalid email or password.");
      return true;
    });
    assert.equal(client.signedIn, false);
  });

  test("an account with TOTP: login resolves to a challenge, completeMfa signs in", async () => {
    const client = new AuthClient({ baseUrl: live.url });
    const challenge = await client.login(live.totpEmail, live.password);
    assert.equal(challenge.mfaRequired, true);
    assert.ok(challenge.methods.includes("totp"), String(challenge.methods));
    assert.equal(client.signedIn, false);
    await assert.rejects(client.completeMfa(challenge.mfaToken, "000000x"), WardenError);
    const again = await client.login(live.totpEmail, live.password);
    const done = await client.completeMfa(again.mfaToken, await totpCode(live.totpSecret));
    assert.equal(done.mfaRequired, false);
    const claims = await verifier.verify(await client.getAccessToken());
    assert.equal(claims.email, live.totpEmail);
  });

  test("logout with Warden unreachable keeps the token, so it can be tried again", async () => {
    const down = () => Promise.reject(new TypeError("fetch failed"));
    const client = new AuthClient({ baseUrl: live.url, refreshToken: "kept", fetch: down });
    await assert.rejects(client.logout(), (error) => error instanceof WardenError && error.status === 0);
    assert.equal(client.refreshToken, "kept");
  });

  test("Warden unreachable is a WardenError with status 0", async () => {
    const client = new AuthClient({ baseUrl: "http://127.0.0.1:9", refreshToken: "x" });
    await assert.rejects(client.getAccessToken(), (error) => {
      assert.ok(error instanceof WardenError);
      assert.equal(error.error, "temporarily_unavailable");
      assert.equal(error.status, 0);
      return true;
    });
  });
});
