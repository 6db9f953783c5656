// The revocation feed against the live Warden: a logged-out session's token refused locally
// within a second (p99 over 10 logouts), a revoked token refused, an unreachable feed reported
// and failing closed after its bound, stop() stopping, and no timer keeping Node alive.
//
// One receiver serves these tests and a receiver's events are acknowledged by whoever polls
// first, so each test stops its feed (verifier.close()) before the next one starts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, describe, test } from "node:test";

import { RevocationFeed, TokenVerifier, WardenError } from "../dist/index.js";
import { closedPort, countingFetch, live, postJson, until } from "./helpers.js";

const LOGOUTS = 10;
const BOUND_MS = 1000; // p99, from the start of the logout request to the local refusal

function feedVerifier(feedOptions = {}, verifierOptions = {}) {
  const logged = [];
  const revocationFeed = new RevocationFeed({
    clientId: live.receiverId,
    clientSecret: live.receiverSecret,
    logger: { warn: (message) => logged.push(message), info: (message) => logged.push(message) },
    ...feedOptions,
  });
  const verifier = new TokenVerifier({
    baseUrl: live.url,
    issuer: live.issuer,
    audience: live.audience,
    revocationFeed,
    ...verifierOptions,
  });
  return { verifier, feed: revocationFeed, logged };
}

async function login(email = live.userEmail) {
  const answer = await postJson("/api/auth/login", { email, password: live.password });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

/** The WardenError verify throws, or undefined when it accepts the token. */
async function refusal(verifier, token) {
  try {
    await verifier.verify(token);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof WardenError, String(error));
    return error;
  }
}

async function revoked(verifier, token) {
  const error = await refusal(verifier, token);
  if (error === undefined) return false;
  assert.equal(error.error, "invalid_token", error.message);
  assert.equal(error.status, 401);
  return true;
}

function percentile(sorted, fraction) {
  return sorted[Math.ceil(fraction * sorted.length) - 1];
}

describe("RevocationFeed", () => {
  const open = [];
  after(() => {
    for (const verifier of open) verifier.close();
  });

  test(`a logged-out session's token is refused within ${BOUND_MS} ms, p99`, async () => {
    const jwks = countingFetch();
    const { verifier, feed } = feedVerifier(
      { interval: 250, failClosedAfter: 5000 },
      { fetch: jwks }, // the verifier's own requests (the JWKS), counted
    );
    open.push(verifier);
    try {
      assert.ok(await until(() => feed.healthy, 10_000), `feed not healthy: ${feed.lastError}`);
      const latencies = [];
      for (let i = 0; i < LOGOUTS; i += 1) {
        const pair = await login();
        await verifier.verify(pair.access_token); // live, and its key now known
        const requestsBefore = jwks.calls.length;
        const started = performance.now();
        const logout = await postJson("/api/auth/logout", { refresh_token: pair.refresh_token });
        assert.equal(logout.status, 204);
        assert.ok(await until(() => revoked(verifier, pair.access_token), 3000), "never refused");
        latencies.push(performance.now() - started);
        // The refusal came from the feed's local set: verify itself sent nothing.
        assert.equal(jwks.calls.length, requestsBefore);
        const error = await refusal(verifier, pair.access_token);
        assert.match(error.description, /session was revoked/);
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const [p50, p99] = [percentile(sorted, 0.5), percentile(sorted, 0.99)];
      console.log(
        `revocation feed: ${LOGOUTS} logouts, refused locally after p50 ${p50.toFixed(0)} ms, ` +
          `p99 ${p99.toFixed(0)} ms, max ${sorted.at(-1).toFixed(0)} ms ` +
          `(all: ${latencies.map((ms) => ms.toFixed(0)).join(" ")})`,
      );
      assert.ok(p99 <= BOUND_MS, `p99 ${p99.toFixed(0)} ms > ${BOUND_MS} ms`);
      assert.equal(feed.failures, 0);
      assert.ok(feed.eventsApplied >= LOGOUTS);
      assert.ok(feed.staleness < 1000, `staleness ${feed.staleness} ms`);
    } finally {
      verifier.close();
    }
  });

  test("a revoked access token (RFC 7009) is refused; its session's next token passes", async () => {
    const { verifier, feed } = feedVerifier({ interval: 100 });
    open.push(verifier);
    try {
      assert.ok(await until(() => feed.healthy, 10_000), `feed not healthy: ${feed.lastError}`);
      const pair = await login();
      await verifier.verify(pair.access_token);
      const answer = await fetch(`${live.url}/api/auth/revoke`, {
        method: "POST",
        body: new URLSearchParams({ token: pair.access_token }),
      });
      assert.equal(answer.status, 200);
      assert.ok(await until(() => revoked(verifier, pair.access_token), 3000), "never refused");
      const error = await refusal(verifier, pair.access_token);
      assert.match(error.description, /token was revoked/);
      const next = await postJson("/api/auth/refresh", { refresh_token: pair.refresh_token });
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.ok((await verifier.verify(next.body.access_token)).sub);
    } finally {
      verifier.close();
    }
  });

  test("an unreachable feed counts failures, and fails closed after the bound", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const access = (await login()).access_token;
    const failOpen = feedVerifier({ baseUrl: dead, interval: 50 });
    const failClosed = feedVerifier({ baseUrl: dead, interval: 50, failClosedAfter: 500 });
    open.push(failOpen.verifier, failClosed.verifier);
    try {
      assert.ok((await failClosed.verifier.verify(access)).sub, "within the bound: still answers");
      assert.ok(await until(() => failOpen.feed.failures >= 2, 5000), "no failures counted");
      assert.equal(failOpen.feed.healthy, false);
      assert.match(failOpen.feed.lastError, /Cannot reach/);
      // Warned once, not at every failed poll.
      const warnings = failOpen.logged.filter((line) => line.includes("feed unreachable"));
      assert.equal(warnings.length, 1, failOpen.logged.join("\n"));
      const left = Math.max(0, 600 - failClosed.feed.staleness);
      await new Promise((resolve) => setTimeout(resolve, left));
      const error = await refusal(failClosed.verifier, access);
      assert.ok(error, "a stale feed with failClosedAfter must refuse");
      assert.equal(error.error, "temporarily_unavailable");
      assert.equal(error.status, 503);
      assert.match(error.description, /revocation feed has been stale/);
      assert.ok((await failOpen.verifier.verify(access)).sub, "fail open by default");
      assert.ok(failOpen.feed.staleness > 500);
    } finally {
      failOpen.verifier.close();
      failClosed.verifier.close();
    }
  });

  test("stop() stops polling at once; start() resumes", async () => {
    const requests = countingFetch();
    const { verifier, feed } = feedVerifier({ interval: 50, fetch: requests });
    open.push(verifier);
    try {
      assert.ok(await until(() => feed.healthy && requests.to("/api/ssf/poll").length >= 3, 5000));
      verifier.close(); // = feed.stop()
      assert.equal(feed.running, false);
      const sent = requests.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 500)); // ten intervals
      assert.equal(requests.calls.length, sent, "polled after stop()");
      feed.start();
      assert.equal(feed.running, true);
      assert.ok(await until(() => requests.calls.length > sent, 2000), "start() did not resume");
      feed.stop();
    } finally {
      verifier.close();
    }
  });

  test("the feed never keeps Node running", async () => {
    // A process that starts a verifier with a feed, sees it healthy and returns: it must exit
    // by itself, the poll timer unref'd.
    const index = new URL("../dist/index.js", import.meta.url).href;
    const script = `
      import { RevocationFeed, TokenVerifier } from ${JSON.stringify(index)};
      const feed = new RevocationFeed({
        clientId: process.env.WARDEN_RECEIVER_ID, clientSecret: process.env.WARDEN_RECEIVER_SECRET,
      });
      new TokenVerifier({
        baseUrl: process.env.WARDEN_URL, issuer: process.env.WARDEN_ISSUER, audience: "warden",
        revocationFeed: feed,
      });
      const deadline = Date.now() + 10000;
      while (!feed.healthy && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      console.log(feed.healthy ? "healthy" : "not healthy: " + feed.lastError);
    `;
    const started = performance.now();
    const { code, stdout, stderr } = await new Promise((resolve) => {
      execFile(
        process.execPath,
        ["--input-type=module", "-e", script],
        { timeout: 15_000, env: process.env },
        (error, out, err) =>
          resolve({ code: error ? (error.code ?? error.signal) : 0, stdout: out, stderr: err }),
      );
    });
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.equal(stdout.trim(), "healthy", stderr);
    assert.ok(performance.now() - started < 12_000);
  });

  test("needs the receiver's credentials and one verifier, which starts and closes it", () => {
    assert.throws(() => new RevocationFeed({ clientId: "", clientSecret: "s" }), TypeError);
    const feed = new RevocationFeed({ clientId: "svc_x", clientSecret: "s" });
    assert.throws(() => feed.start(), TypeError);
    assert.equal(feed.running, false);
    const quiet = new RevocationFeed({
      clientId: "svc_x", clientSecret: "s", baseUrl: "http://127.0.0.1:9", logger: { warn() {} },
    });
    const options = {
      baseUrl: live.url,
      issuer: live.issuer,
      audience: live.audience,
      revocationFeed: quiet,
    };
    const first = new TokenVerifier(options);
    try {
      assert.equal(quiet.running, true, "the verifier starts its feed");
      assert.throws(() => new TokenVerifier(options), /serves one TokenVerifier/);
    } finally {
      first.close();
    }
    assert.equal(quiet.running, false);
  });
});
