// The feed trusts only SETs signed by a published key, typed secevent+jwt, from the issuer and
// addressed to its receiver; forged ones are reported back (setErrs) and change nothing. No
// network: a fake Warden answers through the injected fetch, with keys made here.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";

import { SignJWT, exportJWK, generateKeyPair } from "jose";

import { RevocationFeed, TokenVerifier, WardenError } from "../dist/index.js";
import { until } from "./helpers.js";

const BASE = "http://warden.test";
const ISSUER = "https://auth.example.test";
const RECEIVER = "svc_feed";
const KID = "k1";
const SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const ACCOUNT_DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";

const signer = await generateKeyPair("ES256");
const stranger = await generateKeyPair("ES256");
const publicJwk = { ...(await exportJWK(signer.publicKey)), kid: KID, alg: "ES256", use: "sig" };

function json(body) {
  return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
}

/** A fake Warden: JWKS, SSF metadata, token, stream, and a poll that serves `queue` once. */
function fakeWarden() {
  const queue = {};
  const polls = [];
  const fetchImpl = async (input, init = {}) => {
    const path = new URL(String(input)).pathname;
    if (path === "/.well-known/jwks.json") return json({ keys: [publicJwk] });
    if (path === "/.well-known/ssf-configuration") {
      return json({ issuer: ISSUER, configuration_endpoint: `${BASE}/api/ssf/stream` });
    }
    if (path === "/api/auth/token") {
      return json({ access_token: "receiver-token", token_type: "Bearer", expires_in: 900 });
    }
    if (path === "/api/ssf/stream") {
      const delivery = { method: "urn:ietf:rfc:8936", endpoint_url: `${BASE}/api/ssf/poll` };
      return json({ delivery });
    }
    if (path === "/api/ssf/poll") {
      assert.equal(new Headers(init.headers).get("authorization"), "Bearer receiver-token");
      polls.push(JSON.parse(init.body));
      const sets = { ...queue };
      for (const jti of Object.keys(queue)) delete queue[jti];
      return json({ sets, moreAvailable: false });
    }
    return new Response("not found", { status: 404 });
  };
  return { fetch: fetchImpl, queue, polls };
}

async function securityEvent({
  key = signer.privateKey,
  typ = "secevent+jwt",
  aud = RECEIVER,
  iss = ISSUER,
  event = SESSION_REVOKED,
  subject,
  at,
}) {
  const iat = at ?? Math.floor(Date.now() / 1000);
  const events = { [event]: { event_timestamp: iat } };
  return new SignJWT({ jti: randomUUID(), sub_id: subject, events })
    .setProtectedHeader({ alg: "ES256", kid: KID, typ })
    .setIssuer(iss)
    .setAudience(aud)
    .setIssuedAt(iat)
    .sign(key);
}

async function accessToken({ sub = "user-1", sid = "sid-1", iat, act } = {}) {
  const issued = iat ?? Math.floor(Date.now() / 1000);
  return new SignJWT({ sid, token_type: "access", roles: ["user"], ...(act ? { act } : {}) })
    .setProtectedHeader({ alg: "ES256", kid: KID, typ: "at+jwt" })
    .setIssuer(ISSUER)
    .setAudience("warden")
    .setSubject(sub)
    .setJti(randomUUID())
    .setIssuedAt(issued)
    .setExpirationTime(issued + 900)
    .sign(signer.privateKey);
}

function setUp() {
  const warden = fakeWarden();
  const warnings = [];
  const feed = new RevocationFeed({
    clientId: RECEIVER,
    clientSecret: "s",
    interval: 20,
    fetch: warden.fetch,
    logger: { warn: (message) => warnings.push(message) },
  });
  const verifier = new TokenVerifier({
    baseUrl: BASE,
    issuer: ISSUER,
    audience: "warden",
    fetch: warden.fetch,
    revocationFeed: feed,
  });
  return { warden, feed, verifier, warnings };
}

async function refused(verifier, token) {
  try {
    await verifier.verify(token);
    return false;
  } catch (error) {
    assert.ok(error instanceof WardenError && error.error === "invalid_token", String(error));
    return true;
  }
}

/** Queue SETs, wait for the poll after the one that carried them (their ack or setErrs). */
async function deliver(warden, sets) {
  Object.assign(warden.queue, sets);
  const after = warden.polls.length;
  const answered = () => Object.keys(warden.queue).length === 0 && warden.polls.length >= after + 2;
  assert.ok(await until(answered, 3000), "no poll answered the SETs");
  return warden.polls.at(-1);
}

describe("RevocationFeed's SETs", () => {
  test("forged SETs are reported in setErrs and revoke nothing; a genuine one revokes", async () => {
    const { warden, feed, verifier, warnings } = setUp();
    try {
      const subject = { format: "opaque", id: "sid-1" };
      const forged = {
        "wrong-aud": await securityEvent({ subject, aud: "svc_other" }),
        "wrong-iss": await securityEvent({ subject, iss: "https://elsewhere.test" }),
        "wrong-typ": await securityEvent({ subject, typ: "JWT" }),
        "wrong-key": await securityEvent({ subject, key: stranger.privateKey }),
        "not-a-jwt": "garbage",
      };
      const answered = await deliver(warden, forged);
      assert.deepEqual(Object.keys(answered.setErrs ?? {}).sort(), Object.keys(forged).sort());
      assert.deepEqual(answered.ack, []);
      assert.equal(warnings.filter((w) => w.startsWith("Refusing a SET")).length, 5);
      assert.equal(feed.eventsApplied, 0);
      assert.ok((await verifier.verify(await accessToken())).sub, "forged SETs revoked a session");

      const genuine = await deliver(warden, { good: await securityEvent({ subject }) });
      assert.deepEqual(genuine.ack, ["good"]);
      assert.equal(genuine.setErrs, undefined);
      assert.ok(await refused(verifier, await accessToken()));
      assert.ok((await verifier.verify(await accessToken({ sid: "sid-2" }))).sub);
      assert.equal(feed.failures, 0);
    } finally {
      verifier.close();
    }
  });

  test("a disabled account's or changed password's earlier tokens are refused", async () => {
    const { warden, verifier } = setUp();
    try {
      const now = Math.floor(Date.now() / 1000);
      const before = await accessToken({ sub: "ann", sid: "a", iat: now - 10 });
      const sameSecond = await accessToken({ sub: "ann", sid: "b", iat: now });
      const later = await accessToken({ sub: "ann", sid: "c", iat: now + 1 });
      const ann = { format: "opaque", id: "ann" };
      await deliver(warden, {
        cc: await securityEvent({ event: CREDENTIAL_CHANGE, subject: ann, at: now }),
      });
      assert.ok(await refused(verifier, before));
      assert.ok((await verifier.verify(sameSecond)).sub, "signing in again right away works");
      assert.ok((await verifier.verify(later)).sub);

      // RFC 9493 complex subject; a disabled account refuses its second too.
      const complex = { format: "complex", user: ann };
      await deliver(warden, {
        ad: await securityEvent({ event: ACCOUNT_DISABLED, subject: complex, at: now }),
      });
      assert.ok(await refused(verifier, sameSecond));
      assert.ok((await verifier.verify(later)).sub);
      const bob = await accessToken({ sub: "bob", sid: "d", iat: now - 10 });
      assert.ok((await verifier.verify(bob)).sub, "another user's token passes");
    } finally {
      verifier.close();
    }
  });

  test("a token exchanged through a client disabled since is refused", async () => {
    const { warden, verifier } = setUp();
    try {
      const now = Math.floor(Date.now() / 1000);
      const chain = { sub: "svc_orders", act: { sub: "svc_gateway" } };
      const exchanged = await accessToken({ sub: "bob", sid: "e", iat: now - 10, act: chain });
      const direct = await accessToken({
        sub: "bob",
        sid: "f",
        iat: now - 10,
        act: { sub: "svc_orders" },
      });
      await deliver(warden, {
        ad: await securityEvent({
          event: ACCOUNT_DISABLED,
          subject: { format: "opaque", id: "svc_gateway" },
          at: now,
        }),
      });
      assert.ok(await refused(verifier, exchanged));
      assert.ok((await verifier.verify(direct)).sub, "a chain without that client passes");
    } finally {
      verifier.close();
    }
  });
});
