import { WardenError } from "./errors.js";

/** The subset of the global `fetch` the SDK uses; inject your own (tests, proxies, retries). */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** A token endpoint's successful answer (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  scope?: string;
}

export function trimBase(baseUrl: string): string {
  if (!baseUrl) throw new TypeError("baseUrl is required");
  return baseUrl.replace(/\/+$/, "");
}

/** Turn `error` into a WardenError for a request that got no answer. */
function unreachable(url: string, error: unknown): WardenError {
  const reason = error instanceof Error ? error.message : String(error);
  return new WardenError("temporarily_unavailable", `Cannot reach ${url}: ${reason}`, 0, {
    cause: error,
  });
}

export async function send(fetchImpl: FetchLike, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetchImpl(url, { ...init, redirect: "error" });
  } catch (error) {
    throw unreachable(url, error);
  }
}

export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The WardenError for a non-2xx answer with (usually) an RFC 6749 error body. */
export function errorFrom(response: Response, body: unknown): WardenError {
  const retry = Number(response.headers.get("retry-after"));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : undefined;
  if (isObject(body) && typeof body.error === "string") {
    const description = typeof body.error_description === "string" ? body.error_description : "";
    return new WardenError(body.error, description, response.status, { retryAfter });
  }
  const code = response.status >= 500 ? "server_error" : "invalid_request";
  return new WardenError(code, `Warden answered HTTP ${response.status}`, response.status, {
    retryAfter,
  });
}

/** Check a successful token answer and return it typed. */
export function tokenResponseFrom(response: Response, body: unknown): TokenResponse {
  if (
    !isObject(body) ||
    typeof body.access_token !== "string" ||
    typeof body.expires_in !== "number" ||
    !(body.expires_in > 0)
  ) {
    throw new WardenError(
      "server_error",
      "The token endpoint answered without access_token/expires_in.",
      response.status,
    );
  }
  const tokens: TokenResponse = {
    access_token: body.access_token,
    token_type: typeof body.token_type === "string" ? body.token_type : "Bearer",
    expires_in: body.expires_in,
  };
  if (typeof body.refresh_token === "string") tokens.refresh_token = body.refresh_token;
  if (typeof body.scope === "string") tokens.scope = body.scope;
  return tokens;
}

export function jsonRequest(payload: Record<string, string>): RequestInit {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(payload),
  };
}

/** `application/x-www-form-urlencoded` encoding of one value (spaces as `+`). */
export function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/**
 * When to renew a token obtained at `obtainedMs` that lives `lifetimeS` seconds: `before`
 * seconds ahead of expiry, never later than `fraction` of its lifetime, and never in the
 * first half of a short lifetime.
 */
export function renewalTime(
  obtainedMs: number,
  lifetimeS: number,
  beforeS: number,
  fraction = 1,
): number {
  const margin = Math.min(beforeS, lifetimeS / 2);
  const renewAfter = Math.min(lifetimeS - margin, lifetimeS * fraction);
  return obtainedMs + renewAfter * 1000;
}
