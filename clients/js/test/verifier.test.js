import assert from "node:assert/strict";
import { before, describe, test } from "node:test";

import { AuthClient, ServiceAuthClient, TokenVerifier, WardenError } from "../dist/index.js";
import { b64url, jwtPart, live } from "./helpers.js";

function verifierFor(options = {}) {
  return new TokenVerifier({
    baseUrl: live.url,
    issuer: live.issuer,
    audience: live.audience,
    ...options,
  });
}

async function refusedAsInvalid(promise, pattern) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof WardenError, String(error));
    assert.equal(error.error, "invalid_token");
    assert.equal(error.status, 401);
    if (pattern) assert.match(error.description, pattern);
    return true;
  });
}

describe("TokenVerifier", () => {
  const verifier = verifierFor();
  let user;
  let access;

  before(async () => {
    user = new AuthClient({ baseUrl: live.url });
    await user.login(live.userEmail, live.password);
    access = await user.getAccessToken();
  });

  test("accepts a user's access token and types its claims", async () => {
    const claims = await verifier.verify(access);
    const header = jwtPart(access, 0);
    assert.equal(header.typ, "at+jwt");
    assert.ok(["RS256", "ES256"].includes(header.alg));
    assert.equal(claims.iss, live.issuer);
    assert.equal(claims.aud, "warden");
    assert.equal(typeof claims.sub, "string");
    assert.equal(typeof claims.jti, "string");
    assert.ok(claims.exp > claims.iat);
  });

  test("accepts a service's token", async () => {
    const service = new ServiceAuthClient({
      baseUrl: live.url,
      clientId: live.clientId,
      clientSecret: live.clientSecret,
    });
    const claims = await verifier.verify(await service.getAccessToken());
    assert.equal(claims.sub, live.clientId);
  });

  test("refuses a tampered token", async () => {
    const [header, , signature] = access.split(".");
    const forged = { ...jwtPart(access, 1), roles: ["user", "admin"] };
    await refusedAsInvalid(verifier.verify(`${header}.${b64url(forged)}.${signature}`), /signature/);
  });

  test("refuses a token for another audience", async () => {
    await refusedAsInvalid(verifierFor({ audience: "other" }).verify(access), /aud/);
  });

  test("refuses a token from another issuer", async () => {
    await refusedAsInvalid(verifierFor({ issuer: "https://elsewhere.example" }).verify(access));
  });

  test("refuses a refresh token presented as an access token", async () => {
    const refresh = user.refreshToken;
    assert.ok(refresh.startsWith("wrt_"), "opaque, not a JWT");
    await refusedAsInvalid(verifier.verify(refresh));
    // Even a verifier told to accept the issuer as audience refuses it: typ and token_type.
    await refusedAsInvalid(verifierFor({ audience: live.issuer }).verify(refresh));
  });

  test("refuses alg none", async () => {
    const header = { alg: "none", typ: "at+jwt", kid: jwtPart(access, 0).kid };
    await refusedAsInvalid(verifier.verify(`${b64url(header)}.${access.split(".")[1]}.`));
  });

  test("refuses an algorithm that is not pinned", async () => {
    const alg = jwtPart(access, 0).alg;
    const pinned = alg === "RS256" ? ["ES256"] : ["RS256"];
    await refusedAsInvalid(verifierFor({ algorithms: pinned }).verify(access), /algorithm/);
  });

  test("refuses garbage", async () => {
    await refusedAsInvalid(verifier.verify("not-a-jwt"));
    await refusedAsInvalid(verifier.verify(""));
  });

  test("unreachable keys are temporarily_unavailable (503), not invalid_token", async () => {
    const nowhere = new TokenVerifier({
      baseUrl: "http://127.0.0.1:9",
      issuer: live.issuer,
      audience: live.audience,
    });
    await assert.rejects(nowhere.verify(access), (error) => {
      assert.ok(error instanceof WardenError);
      assert.equal(error.error, "temporarily_unavailable");
      assert.equal(error.status, 503);
      return true;
    });
  });

  test("needs issuer and audience, and refuses to pin none", () => {
    assert.throws(() => new TokenVerifier({ baseUrl: live.url, issuer: live.issuer }), TypeError);
    assert.throws(() => new TokenVerifier({ baseUrl: live.url, audience: "warden" }), TypeError);
    assert.throws(() => verifierFor({ algorithms: ["none"] }), TypeError);
  });
});
