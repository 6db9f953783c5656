import { decodeJwt } from "jose";

import { WardenError } from "./errors.js";
import {
  type FetchLike,
  type TokenResponse,
  errorFrom,
  isObject,
  jsonRequest,
  readJson,
  renewalTime,
  send,
  tokenResponseFrom,
  trimBase,
} from "./http.js";

export interface AuthClientOptions {
  /** Where Warden serves `/api/auth/*`, e.g. `https://auth.example.com`. */
  baseUrl: string;
  /** A refresh token kept from an earlier sign-in: the client starts signed in. */
  refreshToken?: string;
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Refresh this many seconds before the access token expires (default 30). */
  refreshBefore?: number;
  /**
   * Called with each new refresh token (sign-in and every rotation), and with `undefined`
   * when the session ends: persist it here, since Warden treats a spent one as stolen.
   */
  onRefreshToken?: (refreshToken: string | undefined) => void;
  /** Milliseconds since the epoch; defaults to `Date.now`. */
  now?: () => number;
}

/** A completed sign-in. */
export interface SignedIn {
  mfaRequired: false;
  accessToken: string;
  tokenType: string;
  expiresIn: number;
}

/** Warden wants a second factor: answer with `completeMfa(challenge.mfaToken, code)`. */
export interface MfaChallenge {
  mfaRequired: true;
  mfaToken: string;
  /** e.g. `["totp", "recovery_codes"]` */
  methods: string[];
  description: string;
}

export type LoginResult = SignedIn | MfaChallenge;

interface AccessToken {
  value: string;
  renewAt: number;
}

/** The token's own lifetime (exp - iat), which no clock skew distorts. */
function ownLifetime(token: string): number | undefined {
  try {
    const { exp, iat } = decodeJwt(token);
    return typeof exp === "number" && typeof iat === "number" && exp > iat ? exp - iat : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A user's session with Warden's first-party API: sign-in (with MFA), access tokens that
 * refresh themselves shortly before they expire, rotation of the refresh token, logout.
 *
 * One refresh at a time: concurrent callers share the refresh in flight, so a refresh token
 * is never presented twice (Warden would revoke the session as stolen).
 */
export class AuthClient {
  readonly baseUrl: string;
  readonly refreshBefore: number;
  private readonly fetchImpl: FetchLike;
  private readonly now: () => number;
  private readonly onRefreshToken: ((token: string | undefined) => void) | undefined;
  private access: AccessToken | undefined;
  private refreshTokenValue: string | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(options: AuthClientOptions) {
    this.baseUrl = trimBase(options.baseUrl);
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.refreshBefore = options.refreshBefore ?? 30;
    this.now = options.now ?? Date.now;
    this.onRefreshToken = options.onRefreshToken;
    this.refreshTokenValue = options.refreshToken;
  }

  /** The current refresh token (it changes at every refresh), if signed in. */
  get refreshToken(): string | undefined {
    return this.refreshTokenValue;
  }

  get signedIn(): boolean {
    return this.refreshTokenValue !== undefined;
  }

  /** Sign in with email and password. Resolves to an MfaChallenge when a second factor is due. */
  async login(email: string, password: string): Promise<LoginResult> {
    return this.signIn("/api/auth/login", { email, password });
  }

  /** Finish a sign-in that answered an MfaChallenge, with a TOTP or recovery code. */
  async completeMfa(mfaToken: string, code: string): Promise<SignedIn> {
    const result = await this.signIn("/api/auth/login/mfa", { mfa_token: mfaToken, code });
    if (result.mfaRequired) {
      throw new WardenError("server_error", "Warden asked for a second factor again.", 401);
    }
    return result;
  }

  /** A valid access token: the cached one, or a fresh one when it is about to expire. */
  async getAccessToken(): Promise<string> {
    const current = this.access;
    if (current !== undefined && this.now() < current.renewAt) return current.value;
    return this.refresh();
  }

  /** `{Authorization: "Bearer ..."}` with a valid access token. */
  async authHeader(): Promise<{ Authorization: string }> {
    return { Authorization: `Bearer ${await this.getAccessToken()}` };
  }

  /**
   * Exchange the refresh token now for a new pair; resolves to the new access token.
   * Concurrent calls share one request. When Warden refuses (logout, revoked or expired
   * session) the client forgets its tokens and the WardenError (`invalid_grant`) is thrown.
   */
  refresh(): Promise<string> {
    if (this.inFlight === undefined) {
      this.inFlight = this.exchange().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  /**
   * End the session at Warden (the refresh token stops working) and forget the tokens, also
   * when Warden refuses (the session had already ended). Resolves at once when signed out.
   */
  async logout(): Promise<void> {
    if (this.inFlight !== undefined) {
      await this.inFlight.catch(() => undefined); // log out with the newest refresh token
    }
    const token = this.refreshTokenValue;
    if (token === undefined) return;
    // Unreachable: the token is kept, so logout() can be tried again.
    const response = await send(
      this.fetchImpl,
      `${this.baseUrl}/api/auth/logout`,
      jsonRequest({ refresh_token: token }),
    );
    if (this.refreshTokenValue === token) this.forget();
    if (!response.ok) throw errorFrom(response, await readJson(response));
    await response.body?.cancel();
  }

  private async exchange(): Promise<string> {
    const token = this.refreshTokenValue;
    if (token === undefined) {
      // invalid_grant like Warden's refusal of an ended session: either way, sign in again.
      throw new WardenError("invalid_grant", "Not signed in: call login() first.", 0);
    }
    const obtained = this.now();
    const response = await send(
      this.fetchImpl,
      `${this.baseUrl}/api/auth/refresh`,
      jsonRequest({ refresh_token: token }),
    );
    const body = await readJson(response);
    if (!response.ok) {
      const error = errorFrom(response, body);
      // The session is over (or the token was never good): a retry cannot help.
      if (error.error === "invalid_grant" && this.refreshTokenValue === token) this.forget();
      throw error;
    }
    return this.store(tokenResponseFrom(response, body), obtained).value;
  }

  private async signIn(path: string, payload: Record<string, string>): Promise<LoginResult> {
    const obtained = this.now();
    const response = await send(this.fetchImpl, `${this.baseUrl}${path}`, jsonRequest(payload));
    const body = await readJson(response);
    if (
      response.status === 401 &&
      isObject(body) &&
      body.error === "mfa_required" &&
      typeof body.mfa_token === "string"
    ) {
      return {
        mfaRequired: true,
        mfaToken: body.mfa_token,
        methods: Array.isArray(body.methods)
          ? body.methods.filter((m): m is string => typeof m === "string")
          : [],
        description: typeof body.error_description === "string" ? body.error_description : "",
      };
    }
    if (!response.ok) throw errorFrom(response, body);
    const tokens = tokenResponseFrom(response, body);
    const access = this.store(tokens, obtained);
    return {
      mfaRequired: false,
      accessToken: access.value,
      tokenType: tokens.token_type,
      expiresIn: tokens.expires_in,
    };
  }

  private store(tokens: TokenResponse, obtained: number): AccessToken {
    const lifetime = Math.min(tokens.expires_in, ownLifetime(tokens.access_token) ?? Infinity);
    const access: AccessToken = {
      value: tokens.access_token,
      renewAt: renewalTime(obtained, lifetime, this.refreshBefore),
    };
    this.access = access;
    // Warden rotates refresh tokens: the one just presented is spent, keep the new one.
    if (tokens.refresh_token !== undefined && tokens.refresh_token !== this.refreshTokenValue) {
      this.refreshTokenValue = tokens.refresh_token;
      this.onRefreshToken?.(tokens.refresh_token);
    }
    return access;
  }

  private forget(): void {
    const had = this.refreshTokenValue !== undefined;
    this.access = undefined;
    this.refreshTokenValue = undefined;
    if (had) this.onRefreshToken?.(undefined);
  }
}
