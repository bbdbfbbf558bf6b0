import type { AuthLevel } from "./auth/access.js";
import { intAtLeast, isBoolean, nonNegativeMs, positiveMs } from "./base/validate.js";
import type { LogLevel, Logger } from "./base/log.js";
import type { SchedulerOptions } from "./dispatch/scheduler.js";
import type { SocketTunables } from "./net/sockets.js";

/** Options and defaults of the OxenMQ instance, its connects and its close (docs/protocol.md#connections). */

export interface OxenMQOptions extends Partial<SocketTunables>, SchedulerOptions {
  /** x25519 key pair; both or neither (then one is generated). */
  readonly publicKey?: Uint8Array;
  readonly secretKey?: Uint8Array;
  /** Service-node mode: enables `localSN` categories. Requires a key pair. */
  readonly serviceNode?: boolean;
  /** Resolves a service node's pubkey to a `tcp://` address; undefined or "" when unknown. */
  readonly snLookup?: (pubkey: Uint8Array) => string | undefined;
  readonly logger?: Logger;
  readonly logLevel?: LogLevel;
  /** Context socket limit; 0 leaves zmq's default. Default 10000. */
  readonly maxSockets?: number;
  /** Linger (ms) when closing idle or removed connections and at shutdown. Default 5000. */
  readonly closeLinger?: number;
  /** How often (ms) idle service-node connections are expired. Default 250. */
  readonly connCheckInterval?: number;
  /** Threads of the worker_threads pool for CPU-bound jobs (started on first use). Default: generalThreads. */
  readonly workerThreads?: number;
  /**
   * Coalescing with peers of this library (docs/protocol.md#coalescing): offered on each connect and accepted on our
   * listeners; messages to one peer that are ready in the same turn of the event loop travel as one zmq message, and
   * a message sent alone packs its small leading parts into one frame. C++ OxenMQ peers always get plain frames.
   * Default true.
   */
  readonly coalesce?: boolean;
}

export interface CloseOptions {
  /** Milliseconds that running and deferred handlers get to finish and reply. Default 5000. */
  readonly timeout?: number;
}

export interface ConnectOptions {
  /** Auth level of commands the remote sends us over this connection. Default "none". */
  readonly authLevel?: AuthLevel;
  /** Milliseconds to wait for HELLO. Default 10000 (50 for inproc). */
  readonly timeout?: number;
}

/** Checks the instance's options (docs/scheduling.md#option-checks); throws INVALID_ARGUMENT naming the bad one. */
export function checkOptions(o: OxenMQOptions): void {
  nonNegativeMs(o.handshakeTime, "handshakeTime");
  // libzmq's -1 ("no limit") is kept; other negative sizes are mistakes.
  intAtLeast(o.maxMessageSize, -1, "maxMessageSize");
  nonNegativeMs(o.reconnectInterval, "reconnectInterval");
  nonNegativeMs(o.reconnectIntervalMax, "reconnectIntervalMax");
  nonNegativeMs(o.connHeartbeat, "connHeartbeat");
  nonNegativeMs(o.connHeartbeatTimeout, "connHeartbeatTimeout");
  isBoolean(o.ipv6, "ipv6");
  intAtLeast(o.generalThreads, 1, "generalThreads");
  intAtLeast(o.batchThreads, -1, "batchThreads");
  intAtLeast(o.replyThreads, -1, "replyThreads");
  intAtLeast(o.maxSockets, 0, "maxSockets");
  nonNegativeMs(o.closeLinger, "closeLinger");
  positiveMs(o.connCheckInterval, "connCheckInterval");
  intAtLeast(o.workerThreads, 1, "workerThreads");
  isBoolean(o.serviceNode, "serviceNode");
  isBoolean(o.coalesce, "coalesce");
}

export const REMOTE_CONNECT_TIMEOUT = 10_000;
export const INPROC_CONNECT_TIMEOUT = 50;
