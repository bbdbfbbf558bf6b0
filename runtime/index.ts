/**
 * `@oxenmq-ts/runtime`: the public entry of the runtime. Everything not re-exported here is internal, apart from the
 * `@oxenmq-ts/runtime/codegen` entry that generated code imports and the `@oxenmq-ts/runtime/testing` entry (the
 * in-memory transport).
 *
 * @module @oxenmq-ts/runtime
 */
export { OxenMQ } from "./oxenmq.js";
export { REMOTE_CONNECT_TIMEOUT, INPROC_CONNECT_TIMEOUT } from "./options.js";
export type { OxenMQOptions, ConnectOptions, CloseOptions } from "./options.js";
export { DEFAULT_REQUEST_TIMEOUT } from "./rpc/options.js";
export type { SendOptions, RequestOptions } from "./rpc/options.js";
export type { CategoryHelper, ClientTransport, ServerTransport, Transport } from "./rpc/transport.js";
export { Address } from "./net/address.js";
export type { AddressProtocol, KeyEncoding } from "./net/address.js";
export { AUTH_LEVELS, authAtLeast, authFromString } from "./auth/access.js";
export type { Access, AccessSpec, AuthLevel } from "./auth/access.js";
export { MAX_CATEGORY_LENGTH, MAX_COMMAND_LENGTH } from "./base/constants.js";
export type { CategoryOptions, CommandHandler, CommandOptions } from "./rpc/commands.js";
export { ConnectionID } from "./net/connection-id.js";
export { toHex, fromHex, toBase32z, fromBase32z, toBase64, fromBase64, toZ85 } from "./base/encoding.js";
export { OmqError, ERROR_CODES, WIRE_ERROR_WORDS, RETRYABLE, isWireErrorWord } from "./base/errors.js";
export type { OmqErrorCode, WireErrorWord } from "./base/errors.js";
export { generateKeyPair, validateKeyPair } from "./auth/keys.js";
export type { KeyPair } from "./auth/keys.js";
export type { ListenOptions } from "./net/listener.js";
export { LOG_LEVELS, consoleLogger } from "./base/log.js";
export type { LogLevel, Logger, LogFunction, LogMethods } from "./base/log.js";
export { Message, DeferredSend } from "./rpc/message.js";
export type { Frame } from "./wire/frames.js";
export { Subscription } from "./rpc/subscription.js";
export type { AllowFunc } from "./auth/zap.js";
export { readKeyFile, writeKeyFile } from "./auth/keyfile.js";
export { Batch, JobResult } from "./dispatch/batch.js";
export type { CompletionTarget } from "./dispatch/batch.js";
export { TaggedExecutor, RUN_IN_PROXY, currentExecutor } from "./dispatch/executor.js";
export type { RunInProxy } from "./dispatch/executor.js";
export type { TimerID, TimerOptions } from "./dispatch/timers.js";
export type { WorkerJobSpec } from "./dispatch/worker-pool.js";
export type { Work } from "./dispatch/executor.js";
export { btEncode, btDecode } from "./wire/bt.js";
export type { BtValue, BtDict } from "./wire/bt.js";
export { RpcError, STATUS_OK } from "./rpc/status.js";
export { DeferredReply } from "./rpc/typed-server.js";
export type { CallContext, RequestContext, HandlerResult } from "./rpc/typed-server.js";
export type { CallOptions } from "./rpc/typed-client.js";
export { DEFAULT_CONNECT_SN_KEEP_ALIVE, DEFAULT_SEND_KEEP_ALIVE } from "./net/service-nodes.js";
export type { ConnectSNOptions, RouteOptions } from "./net/service-nodes.js";
