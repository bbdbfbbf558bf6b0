import type { OmqError } from "../base/errors.js";
import { finiteMs, nonNegativeMs } from "../base/validate.js";
import type { RouteOptions } from "../net/service-nodes.js";

/** Options of sends and requests (docs/protocol.md#connections). */

export interface SendOptions extends RouteOptions {
  /** Called (as a job) when the message could not be sent, with the reason. */
  readonly queueFailure?: (err: OmqError) => void;
  /** Called (as a job) when the message could not be sent and there is no `queueFailure`. */
  readonly queueFull?: () => void;
}

export interface RequestOptions extends SendOptions {
  /**
   * Milliseconds until the request fails with TIMEOUT; 0 or less fails it at once. It must be finite. Default 15000.
   */
  readonly timeout?: number;
  readonly signal?: AbortSignal;
  /**
   * The command answers status first, as typed commands do (`[200][payload…]` or `[status][message]`): resolve with
   * the frames after a 200, reject with an RpcError for any other status.
   */
  readonly statusFirst?: boolean;
  /**
   * Keep waiting (until the timeout) when the connection the request went out on is lost, in case it comes back and
   * the reply with it. By default such a request fails at once with DISCONNECTED.
   */
  readonly waitForReconnect?: boolean;
}

/** Checks the numbers of a send or request's options. */
export function checkSendOptions(o: RequestOptions): void {
  finiteMs(o.timeout, "timeout");
  nonNegativeMs(o.keepAlive, "keepAlive");
}

export const DEFAULT_REQUEST_TIMEOUT = 15_000;
