/**
 * Errors from Warden, shaped like its RFC 6749 error bodies: `{"error", "error_description"}`.
 */
export class WardenError extends Error {
  /** The OAuth error code, e.g. `invalid_grant`, `invalid_client`, `invalid_token`. */
  readonly error: string;
  /** Warden's `error_description`, or what went wrong on this side. */
  readonly description: string;
  /** The HTTP status of Warden's answer; 0 when no answer arrived (network error). */
  readonly status: number;
  /** Seconds to wait, from a `Retry-After` header (rate limits), when Warden sent one. */
  readonly retryAfter: number | undefined;

  constructor(
    error: string,
    description: string,
    status: number,
    options: { cause?: unknown; retryAfter?: number | undefined } = {},
  ) {
    super(description ? `${error}: ${description}` : error, { cause: options.cause });
    this.name = "WardenError";
    this.error = error;
    this.description = description;
    this.status = status;
    this.retryAfter = options.retryAfter;
  }
}
