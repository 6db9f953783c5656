import { Buffer } from "node:buffer";

import {
  type FetchLike,
  errorFrom,
  formEncode,
  readJson,
  renewalTime,
  send,
  tokenResponseFrom,
  trimBase,
} from "./http.js";

export interface ServiceAuthClientOptions {
  /** Where Warden serves `/api/auth/token`. */
  baseUrl: string;
  /** From `manage.py create_service_client`. */
  clientId: string;
  clientSecret: string;
  /** Scopes to ask for (space-separated string or list); none asks for all the client has. */
  scope?: string | string[];
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Renew at the latest this many seconds before expiry (default 30). */
  renewBefore?: number;
  /** ...and at the latest after this fraction of the lifetime (default 0.8). */
  renewAfterFraction?: number;
  /** Milliseconds since the epoch; defaults to `Date.now`. */
  now?: () => number;
}

interface CachedToken {
  value: string;
  scope: string | undefined;
  renewAt: number;
  expiresAt: number;
}

/**
 * A service's own access token (OAuth 2.0 client credentials), cached and renewed before it
 * expires. Single-flight: however many callers ask at once, one token request goes out.
 */
export class ServiceAuthClient {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly scope: string | undefined;
  private readonly authorization: string;
  private readonly fetchImpl: FetchLike;
  private readonly renewBefore: number;
  private readonly renewAfterFraction: number;
  private readonly now: () => number;
  private token: CachedToken | undefined;
  private inFlight: Promise<CachedToken> | undefined;

  constructor(options: ServiceAuthClientOptions) {
    if (!options.clientId || !options.clientSecret) {
      throw new TypeError("clientId and clientSecret are required");
    }
    this.tokenUrl = `${trimBase(options.baseUrl)}/api/auth/token`;
    this.clientId = options.clientId;
    const scope = Array.isArray(options.scope) ? options.scope.join(" ") : options.scope;
    this.scope = scope || undefined;
    // RFC 6749 §2.3.1: each part form-urlencoded, then "id:secret" in base64.
    const pair = `${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`;
    this.authorization = `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.renewBefore = options.renewBefore ?? 30;
    this.renewAfterFraction = options.renewAfterFraction ?? 0.8;
    this.now = options.now ?? Date.now;
  }

  /**
   * A valid access token, from the cache or fresh from Warden. Inside the renewal window a
   * failed renewal still answers with the current token while it has not expired.
   */
  async getAccessToken(): Promise<string> {
    const current = this.token;
    const now = this.now();
    if (current !== undefined && now < current.renewAt) return current.value;
    try {
      return (await this.fetchToken()).value;
    } catch (error) {
      if (current !== undefined && this.now() < current.expiresAt && this.token === current) {
        return current.value;
      }
      throw error;
    }
  }

  /** `{Authorization: "Bearer ..."}` with a valid access token. */
  async authHeader(): Promise<{ Authorization: string }> {
    return { Authorization: `Bearer ${await this.getAccessToken()}` };
  }

  /** Forget the cached token (say a service answered 401 to it): the next call fetches. */
  invalidate(): void {
    this.token = undefined;
  }

  private fetchToken(): Promise<CachedToken> {
    if (this.inFlight === undefined) {
      this.inFlight = this.request().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  private async request(): Promise<CachedToken> {
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (this.scope !== undefined) form.set("scope", this.scope);
    const obtained = this.now();
    const response = await send(this.fetchImpl, this.tokenUrl, {
      method: "POST",
      headers: {
        Authorization: this.authorization,
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: form.toString(),
    });
    const body = await readJson(response);
    if (!response.ok) throw errorFrom(response, body);
    const tokens = tokenResponseFrom(response, body);
    const token: CachedToken = {
      value: tokens.access_token,
      scope: tokens.scope,
      renewAt: renewalTime(obtained, tokens.expires_in, this.renewBefore, this.renewAfterFraction),
      expiresAt: obtained + tokens.expires_in * 1000,
    };
    this.token = token;
    return token;
  }
}
