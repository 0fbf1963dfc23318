/** The API's one error shape, `{"error": {"code", "message", "fields"?, "details"?}}`, as an exception. */
export interface ErrorBody {
  error?: { code?: string; message?: string; fields?: Record<string, string[]>; details?: Record<string, unknown> };
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string[]>;
  readonly details: Record<string, unknown>;

  constructor(status: number, body: unknown) {
    const err = (body as ErrorBody | null)?.error ?? {};
    super(err.message ?? `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.code = err.code ?? "error";
    this.fields = err.fields ?? {};
    this.details = err.details ?? {};
  }

  /** The message with the first field error, e.g. "Invalid input. title: This field may not be blank." */
  describe(): string {
    const [field, messages] = Object.entries(this.fields)[0] ?? [];
    return field && messages?.length ? `${messages[0]} (${field})` : this.message;
  }
}

/** The request never reached the server (offline, DNS, connection refused). */
export class NetworkError extends Error {
  constructor(cause?: unknown) {
    super("You are offline or the server cannot be reached.");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

export function isRetryable(status: number, code?: string): boolean {
  // 5xx frees the idempotency key; 429 and "key in progress" say "try again soon".
  return status >= 500 || status === 429 || code === "idempotency_key_in_progress";
}
