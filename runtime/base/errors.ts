/**
 * The one error class of the runtime. Every failure carries a code from the closed set below; wire error words
 * (docs/protocol.md#frames) are a subset, so a rejection received from a peer and one produced locally look alike.
 */
export const ERROR_CODES = {
  UNKNOWNCOMMAND: "the remote does not know this command",
  FORBIDDEN: "the caller's auth level is too low for this category",
  FORBIDDEN_SN: "this category is only for service nodes",
  NOT_A_SERVICE_NODE: "this category needs the remote to be in service-node mode",
  NO_REPLY_TAG: "a request command arrived without a reply tag",
  TIMEOUT: "no reply before the deadline",
  ABORTED: "cancelled by the caller's AbortSignal",
  CLOSED: "the instance is closed or closing",
  DISCONNECTED: "the connection the request went out on was lost before a reply; it may or may not have run",
  NOT_STARTED: "the instance has not been started",
  ALREADY_STARTED: "only valid before start()",
  INVALID_ARGUMENT: "an argument is out of range or malformed",
  INVALID_KEY: "a key has the wrong size or does not match its pair",
  INVALID_ADDRESS: "an address cannot be parsed",
  BIND_FAILED: "a listener could not bind",
  CONNECT_FAILED: "an outgoing connection could not be made",
  CONNECT_TIMEOUT: "connection attempt timed out",
  CONNECT_REFUSED: "nothing accepts connections at the address",
  ACCESS_DENIED: "the server refused the connection at its handshake",
  AUTH_FAILED: "the CURVE handshake failed: the server's public key is not the one given",
  PROTOCOL_MISMATCH: "one side uses CURVE and the other does not",
  QUEUE_FULL: "the peer's queue is full (sending would block)",
  SEND_FAILED: "the message could not be sent",
  HOST_UNREACHABLE: "the peer is gone",
  BAD_REPLY: "a reply could not be decoded",
  APP_ERROR: "the remote handler reported an application error",
} as const;

export type OmqErrorCode = keyof typeof ERROR_CODES;

/** Error words that travel on the wire as the first frame of a rejection. */
export const WIRE_ERROR_WORDS = [
  "UNKNOWNCOMMAND",
  "FORBIDDEN",
  "FORBIDDEN_SN",
  "NOT_A_SERVICE_NODE",
  "NO_REPLY_TAG",
] as const satisfies readonly OmqErrorCode[];
export type WireErrorWord = (typeof WIRE_ERROR_WORDS)[number];

const wireWords: ReadonlySet<string> = new Set(WIRE_ERROR_WORDS);
export function isWireErrorWord(word: string): word is WireErrorWord {
  return wireWords.has(word);
}

/** Whether retrying the same call later may succeed. Typed against every code: adding a code without deciding fails to compile. */
export const RETRYABLE: Record<OmqErrorCode, boolean> = {
  UNKNOWNCOMMAND: false,
  FORBIDDEN: false,
  FORBIDDEN_SN: false,
  NOT_A_SERVICE_NODE: false,
  NO_REPLY_TAG: false,
  TIMEOUT: true,
  ABORTED: false,
  CLOSED: false,
  DISCONNECTED: true,
  NOT_STARTED: false,
  ALREADY_STARTED: false,
  INVALID_ARGUMENT: false,
  INVALID_KEY: false,
  INVALID_ADDRESS: false,
  BIND_FAILED: false,
  CONNECT_FAILED: true,
  CONNECT_TIMEOUT: true,
  CONNECT_REFUSED: true,
  ACCESS_DENIED: false,
  AUTH_FAILED: false,
  PROTOCOL_MISMATCH: false,
  QUEUE_FULL: true,
  SEND_FAILED: true,
  HOST_UNREACHABLE: true,
  BAD_REPLY: false,
  APP_ERROR: false,
};

/** ZeroMQ errno names that map onto our codes; the original zeromq error stays as `cause`. */
export const ZMQ_ERRNO_CODES: Readonly<Record<string, OmqErrorCode>> = {
  EAGAIN: "QUEUE_FULL",
  EHOSTUNREACH: "HOST_UNREACHABLE",
  EADDRINUSE: "BIND_FAILED",
  EMFILE: "CONNECT_FAILED",
};

export class OmqError extends Error {
  override readonly name = "OmqError";
  constructor(
    readonly code: OmqErrorCode,
    message: string = ERROR_CODES[code],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return RETRYABLE[this.code];
  }

  /** Wraps a zeromq error (which has `.code` like "EAGAIN") in the matching OmqError, keeping it as the cause. */
  static fromZmq(err: unknown, fallback: OmqErrorCode, context: string): OmqError {
    if (err instanceof OmqError) return err;
    const errno = (err as { code?: unknown } | null)?.code;
    const code = (typeof errno === "string" && ZMQ_ERRNO_CODES[errno]) || fallback;
    const detail = err instanceof Error ? err.message : String(err);
    return new OmqError(code, `${context}: ${detail}`, { cause: err });
  }
}
