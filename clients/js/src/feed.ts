/**
 * The revocation feed: a local set of revoked sessions, tokens and subjects, kept current by
 * polling Warden's Shared Signals stream (RFC 8936) on a timer.
 */
import { type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";

import { WardenError } from "./errors.js";
import { type FetchLike, isObject, readJson, send, trimBase } from "./http.js";
import { ServiceAuthClient } from "./service-client.js";

export const SET_TYP = "secevent+jwt";
export const SSF_SCOPE = "ssf:poll";
export const SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
export const CREDENTIAL_CHANGE =
  "https://schemas.openid.net/secevent/caep/event-type/credential-change";
export const ACCOUNT_DISABLED =
  "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
export const TOKEN_REVOKED = "urn:warden:secevent:token-revoked";
export const SIGNING_KEY_RETIRED = "urn:warden:secevent:signing-key-retired";

const POLL_METHOD = "urn:ietf:rfc:8936";
const KEY_HEADERS = ["jku", "x5u", "jwk", "x5c"] as const;
const MAX_BACKOFF_MS = 5000;
const PRUNE_EVERY_MS = 60_000;

/** Where the feed reports; defaults to warnings on `console.warn`, nothing else. */
export interface FeedLogger {
  warn(message: string): void;
  info?(message: string): void;
}

export interface RevocationFeedOptions {
  /** A receiver: a service client holding the scope `ssf:poll` (`create_service_client`). */
  clientId: string;
  clientSecret: string;
  /** Milliseconds between polls (default 250); at once again while more events wait. */
  interval?: number;
  /**
   * Milliseconds: once the feed has had no good poll for this long (counted from its
   * creation until the first), `verify` throws `temporarily_unavailable` (503) for every
   * token. Unset (the default), a stale feed keeps what it knows and verify goes on.
   */
  failClosedAfter?: number;
  /** Milliseconds an entry is kept (default one hour: longer than Warden's tokens live). */
  retention?: number;
  /** The most SETs asked for per poll (default 500). */
  maxEvents?: number;
  /** Milliseconds each request may take (default 5000). */
  timeout?: number;
  /** Where the metadata and the receiver's token are fetched; defaults to the verifier's. */
  baseUrl?: string;
  /** Defaults to the global `fetch`. Used for the metadata, the token and the polls. */
  fetch?: FetchLike;
  logger?: FeedLogger;
  /** Milliseconds since the epoch; defaults to `Date.now`. */
  now?: () => number;
}

/** What the feed needs from its TokenVerifier: the keys, the issuer, the base URL. */
export interface FeedSource {
  readonly baseUrl: string;
  readonly issuer: string;
  readonly algorithms: readonly string[];
  readonly keys: JWTVerifyGetKey;
}

/** The claims the feed checks (a verified access token's). */
export interface RevocableClaims {
  sub: string;
  iat: number;
  jti: string;
  sid?: string | undefined;
  act?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

type SetErrors = Record<string, { err: string; description: string }>;

function revoked(description: string): WardenError {
  return new WardenError("invalid_token", description, 401);
}

/**
 * Give it to `new TokenVerifier({ revocationFeed })` with a receiver's credentials: the
 * verifier then refuses (`invalid_token`, 401) tokens of a revoked session (`sid`), a revoked
 * token (`jti`), and tokens of a disabled account or changed password issued before the
 * change (`sub`, `iat`), with no request of its own.
 *
 * A timer (unref'd: it never keeps Node running) polls every `interval` ms, so a revocation is
 * refused here about one interval plus a round trip after Warden made it. Every SET is checked
 * with the verifier's keys (signature, `typ: secevent+jwt`, `iss`, `aud` = `clientId`) before
 * it counts; an unverifiable one is reported back (`setErrs`) and ignored.
 *
 * Errors are counted, never thrown: when Warden cannot be reached the feed warns once, counts
 * `failures`, reports `healthy` false and `staleness`, and keeps what it knows.
 */
export class RevocationFeed {
  readonly clientId: string;
  readonly interval: number;
  readonly failClosedAfter: number | undefined;
  readonly retention: number;
  readonly maxEvents: number;
  readonly timeout: number;
  /** The poll endpoint, once discovered. */
  pollUrl: string | undefined;
  /** The last poll succeeded. */
  healthy = false;
  /** Failed polls since creation: export it as a counter. */
  failures = 0;
  /** Events applied (revocations learnt) since creation. */
  eventsApplied = 0;
  /** When the last good poll ended (ms since the epoch). */
  lastSuccess: number | undefined;
  /** What went wrong last, if anything (a message, for logs and health pages). */
  lastError: string | undefined;

  private readonly clientSecret: string;
  private readonly baseUrlOption: string | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly logger: FeedLogger;
  private readonly now: () => number;
  private readonly createdAt: number;
  private source: FeedSource | undefined;
  private tokens: ServiceAuthClient | undefined;
  private sids = new Map<string, number>(); // value: when the entry may be forgotten
  private jtis = new Map<string, number>();
  private subjects = new Map<string, { below: number; forget: number }>(); // below: iat, s
  private retiredKids = new Map<string, number>();
  private ack: string[] = [];
  private setErrs: SetErrors = {};
  private timer: NodeJS.Timeout | undefined;
  private round: AbortController | undefined;
  private active = false;
  private generation = 0; // bumped by start() and stop(): a round of an older one ends quietly
  private pause: number;
  private prunedAt: number;

  constructor(options: RevocationFeedOptions) {
    if (!options.clientId || !options.clientSecret) {
      throw new TypeError("RevocationFeed needs the receiver's clientId and clientSecret");
    }
    this.clientId = options.clientId;
    this.clientSecret = options.clientSecret;
    this.interval = options.interval ?? 250;
    this.failClosedAfter = options.failClosedAfter;
    this.retention = options.retention ?? 3_600_000;
    this.maxEvents = options.maxEvents ?? 500;
    this.timeout = options.timeout ?? 5000;
    this.baseUrlOption = options.baseUrl === undefined ? undefined : trimBase(options.baseUrl);
    const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    // Every request of a round carries its signal: stop() and the timeout abort it.
    this.fetchImpl = (input, init) => fetchImpl(input, { ...init, signal: this.signal() });
    this.logger = options.logger ?? { warn: (message) => console.warn(message) };
    this.now = options.now ?? Date.now;
    this.createdAt = this.prunedAt = this.now();
    this.pause = this.interval;
    if (!(this.interval > 0)) throw new TypeError("interval must be a positive number of ms");
  }

  /** Polling now (started and not stopped). */
  get running(): boolean {
    return this.active;
  }

  /** Milliseconds since the last good poll (since the feed was created, before the first). */
  get staleness(): number {
    return this.now() - (this.lastSuccess ?? this.createdAt);
  }

  /**
   * Start polling (a TokenVerifier given this feed starts it). Calling it again while running
   * does nothing; after `stop()` it resumes.
   */
  start(): void {
    if (this.source === undefined) {
      throw new TypeError("give the feed to a TokenVerifier first (its revocationFeed option)");
    }
    if (this.active) return;
    this.active = true;
    this.generation += 1;
    this.pause = this.interval;
    this.schedule(0, this.generation);
  }

  /** Stop polling at once (a request in flight is aborted). What the feed knows stays. */
  stop(): void {
    this.active = false;
    this.generation += 1;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.round?.abort(new Error("revocation feed stopped"));
    this.round = undefined;
  }

  /**
   * Throws a WardenError if the feed knows these claims' token is revoked (`invalid_token`),
   * or, with `failClosedAfter`, if it is too stale to say (`temporarily_unavailable`).
   * Called by TokenVerifier.verify; synchronous, no I/O.
   */
  check(claims: RevocableClaims, kid?: string): void {
    const staleness = this.staleness;
    if (this.failClosedAfter !== undefined && staleness > this.failClosedAfter) {
      throw new WardenError(
        "temporarily_unavailable",
        `The revocation feed has been stale for ${(staleness / 1000).toFixed(1)} s.`,
        503,
      );
    }
    if (claims.sid !== undefined && this.sids.has(claims.sid)) {
      throw revoked("The token's session was revoked.");
    }
    if (this.jtis.has(claims.jti)) throw revoked("The token was revoked.");
    const subject = this.subjects.get(claims.sub);
    if (subject !== undefined && claims.iat < subject.below) {
      throw revoked("The account was disabled or its credentials changed after this token.");
    }
    // An exchanged token (RFC 8693 act): every client that acted in it must still be live.
    for (let act = claims.act; isRecord(act) && this.subjects.size > 0; act = act.act) {
      const actor = typeof act.sub === "string" ? this.subjects.get(act.sub) : undefined;
      if (actor !== undefined && claims.iat < actor.below) {
        throw revoked("A client that acted in this token was disabled.");
      }
    }
    if (kid !== undefined && this.retiredKids.has(kid)) {
      throw revoked("The token's signing key was retired.");
    }
  }

  /** @internal TokenVerifier's part: the keys and issuer SETs are checked against. */
  attach(source: FeedSource): void {
    if (this.source !== undefined) {
      throw new TypeError("a RevocationFeed serves one TokenVerifier");
    }
    this.source = source;
    this.tokens = new ServiceAuthClient({
      baseUrl: this.baseUrlOption ?? source.baseUrl,
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      scope: SSF_SCOPE,
      fetch: this.fetchImpl,
      now: this.now,
    });
  }

  // --- The poller ------------------------------------------------------------------------------

  private signal(): AbortSignal | null {
    return this.round?.signal ?? null;
  }

  private schedule(delay: number, generation: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick(generation);
    }, delay);
    this.timer.unref();
  }

  private async tick(generation: number): Promise<void> {
    if (generation !== this.generation) return;
    const round = new AbortController();
    this.round = round;
    const timeout = setTimeout(() => round.abort(new Error("timed out")), this.timeout);
    timeout.unref();
    let more = false;
    try {
      more = await this.poll();
    } catch (error) {
      if (generation !== this.generation) return; // stopped meanwhile: not a failure
      this.failures += 1;
      this.lastError = error instanceof Error ? error.message : String(error);
      if (this.healthy || this.failures === 1) {
        this.logger.warn(`Revocation feed unreachable, keeping what it knows: ${this.lastError}`);
      }
      this.healthy = false;
      this.pause = Math.min(Math.max(this.pause * 2, this.interval), MAX_BACKOFF_MS);
      this.schedule(this.pause, generation);
      return;
    } finally {
      clearTimeout(timeout);
      if (this.round === round) this.round = undefined;
    }
    if (generation !== this.generation) return;
    if (!this.healthy) this.logger.info?.(`Revocation feed connected (${this.pollUrl})`);
    this.healthy = true;
    this.lastSuccess = this.now();
    this.pause = this.interval;
    if (this.now() - this.prunedAt > PRUNE_EVERY_MS) this.prune();
    this.schedule(more ? 0 : this.interval, generation);
  }

  private async discover(): Promise<string> {
    const base = this.baseUrlOption ?? this.sourceOf().baseUrl;
    const meta = await this.getJson(`${base}/.well-known/ssf-configuration`, {});
    const configUrl = meta.configuration_endpoint;
    if (typeof configUrl !== "string") {
      throw new Error("SSF metadata names no configuration_endpoint");
    }
    const config = await this.getJson(configUrl, await this.tokenClient().authHeader());
    const delivery = isObject(config.delivery) ? config.delivery : {};
    const url = delivery.method === POLL_METHOD ? delivery.endpoint_url : config.poll_endpoint_url;
    if (typeof url !== "string") throw new Error("the stream configuration gives no poll endpoint");
    return url;
  }

  private async getJson(
    url: string,
    headers: Record<string, string>,
  ): Promise<Record<string, unknown>> {
    const response = await send(this.fetchImpl, url, {
      headers: { ...headers, Accept: "application/json" },
    });
    const body = await readJson(response);
    if (response.status === 401) this.tokenClient().invalidate();
    if (!response.ok || !isObject(body)) throw new Error(`${url} answered HTTP ${response.status}`);
    return body;
  }

  /** One poll: acknowledge the last round's SETs, apply the new ones. True when more wait. */
  private async poll(): Promise<boolean> {
    this.pollUrl ??= await this.discover();
    const tokens = this.tokenClient();
    const body: Record<string, unknown> = {
      ack: this.ack,
      maxEvents: this.maxEvents,
      returnImmediately: true,
    };
    if (Object.keys(this.setErrs).length > 0) body.setErrs = this.setErrs;
    const response = await send(this.fetchImpl, this.pollUrl, {
      method: "POST",
      headers: {
        ...(await tokens.authHeader()),
        "Content-Type": "application/json",
        Accept: "application/json",
      },
      body: JSON.stringify(body),
    });
    const answer = await readJson(response);
    if (response.status === 401) tokens.invalidate(); // expired or revoked: a new one next round
    if (!response.ok) throw new Error(`poll answered HTTP ${response.status}`);
    if (!isObject(answer) || !isObject(answer.sets ?? {})) {
      throw new Error("poll answered an unexpected shape");
    }
    // Acknowledged by this answer: the next poll sends only this round's.
    const sets = (answer.sets ?? {}) as Record<string, unknown>;
    const ack: string[] = [];
    const setErrs: SetErrors = {};
    for (const [jti, token] of Object.entries(sets)) {
      try {
        this.apply(await this.decode(token));
        ack.push(jti);
      } catch (error) {
        const description = (error instanceof Error ? error.message : String(error)).slice(0, 200);
        this.logger.warn(`Refusing a SET from the revocation feed: ${description}`);
        setErrs[jti] = { err: "invalid_request", description };
      }
    }
    this.ack = ack;
    this.setErrs = setErrs;
    return answer.moreAvailable === true;
  }

  private async decode(token: unknown): Promise<JWTPayload> {
    if (typeof token !== "string") throw new Error("not a JWT");
    const source = this.sourceOf();
    const { payload, protectedHeader } = await jwtVerify(token, source.keys, {
      issuer: source.issuer,
      audience: this.clientId,
      algorithms: [...source.algorithms],
      typ: SET_TYP,
      requiredClaims: ["iss", "aud", "iat", "jti"],
    });
    if (KEY_HEADERS.some((name) => name in protectedHeader)) throw new Error("names its own key");
    if (protectedHeader.kid !== undefined && this.retiredKids.has(protectedHeader.kid)) {
      throw new Error("signed by a retired key");
    }
    return payload;
  }

  private apply(claims: JWTPayload): void {
    const events = claims.events;
    if (!isObject(events)) throw new Error("a SET without events");
    let subject = isObject(claims.sub_id) ? claims.sub_id : {};
    if (subject.format === "complex") {
      // RFC 9493 §3.2.1: a complex subject names its members.
      const member = isObject(subject.session) ? subject.session : subject.user;
      subject = isObject(member) ? member : {};
    }
    const ident = typeof subject.id === "string" ? subject.id : "";
    if (!ident) return;
    const forget = this.now() + this.retention;
    const iat = typeof claims.iat === "number" ? claims.iat : 0;
    for (const [eventType, event] of Object.entries(events)) {
      const stamp = isObject(event) ? event.event_timestamp : undefined;
      const at = typeof stamp === "number" ? stamp : iat;
      if (eventType === SESSION_REVOKED) {
        this.sids.set(ident, forget);
      } else if (eventType === TOKEN_REVOKED) {
        this.jtis.set(ident, forget);
      } else if (eventType === ACCOUNT_DISABLED || eventType === CREDENTIAL_CHANGE) {
        // iat has whole seconds. After a password change a token of the same second is left
        // to its session's event, so signing in again right away works; a disabled account
        // has no such sign-in, so its second is refused too.
        const below = Math.floor(at) + (eventType === ACCOUNT_DISABLED ? 1 : 0);
        const previous = this.subjects.get(ident)?.below ?? 0;
        this.subjects.set(ident, { below: Math.max(previous, below), forget });
      } else if (eventType === SIGNING_KEY_RETIRED) {
        this.retiredKids.set(ident, forget);
      } else {
        continue;
      }
      this.eventsApplied += 1;
    }
  }

  private prune(): void {
    const now = (this.prunedAt = this.now());
    for (const map of [this.sids, this.jtis, this.retiredKids]) {
      for (const [key, forget] of map) if (forget <= now) map.delete(key);
    }
    for (const [key, entry] of this.subjects) if (entry.forget <= now) this.subjects.delete(key);
  }

  private sourceOf(): FeedSource {
    if (this.source === undefined) throw new Error("the feed has no TokenVerifier");
    return this.source;
  }

  private tokenClient(): ServiceAuthClient {
    if (this.tokens === undefined) throw new Error("the feed has no TokenVerifier");
    return this.tokens;
  }
}
