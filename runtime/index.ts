/**
 * `@oxenmq-ts/runtime`: the public entry of the runtime. Everything not re-exported here is internal, apart from the
 * `@oxenmq-ts/runtime/codegen` entry that generated code imports.
 *
 * @module @oxenmq-ts/runtime
 */
export { OxenMQ, DEFAULT_REQUEST_TIMEOUT, REMOTE_CONNECT_TIMEOUT, INPROC_CONNECT_TIMEOUT } from "./oxenmq.js";
export type { OxenMQOptions, SendOptions, RequestOptions, ConnectOptions, CategoryHelper } from "./oxenmq.js";
export { Address } from "./address.js";
export type { AddressProtocol, KeyEncoding } from "./address.js";
export { AUTH_LEVELS, authAtLeast, authFromString } from "./auth.js";
export type { Access, AccessSpec, AuthLevel } from "./auth.js";
export { MAX_CATEGORY_LENGTH, MAX_COMMAND_LENGTH } from "./constants.js";
export type { CategoryOptions, CommandHandler } from "./commands.js";
export { ConnectionID } from "./connection-id.js";
export { toHex, fromHex, toBase32z, fromBase32z, toBase64, fromBase64, toZ85 } from "./encoding.js";
export { OmqError, ERROR_CODES, WIRE_ERROR_WORDS, RETRYABLE, isWireErrorWord } from "./errors.js";
export type { OmqErrorCode, WireErrorWord } from "./errors.js";
export { generateKeyPair, validateKeyPair } from "./keys.js";
export type { KeyPair } from "./keys.js";
export type { ListenOptions } from "./listener.js";
export { LOG_LEVELS, consoleLogger } from "./log.js";
export type { LogLevel, Logger, LogFunction, LogMethods } from "./log.js";
export { Message, DeferredSend } from "./message.js";
export type { Frame } from "./sockets.js";
export { Subscription } from "./subscription.js";
export type { AllowFunc } from "./zap.js";
export { readKeyFile, writeKeyFile } from "./keyfile.js";
export { Batch, JobResult } from "./batch.js";
export type { CompletionTarget } from "./batch.js";
export { TaggedExecutor, RUN_IN_PROXY, currentExecutor } from "./executor.js";
export type { RunInProxy } from "./executor.js";
export type { TimerID, TimerOptions } from "./timers.js";
export type { WorkerJobSpec } from "./worker-pool.js";
export type { Work } from "./scheduler.js";
export { btEncode, btDecode } from "./bt.js";
export type { BtValue, BtDict } from "./bt.js";
export { RpcError, DeferredReply, STATUS_OK } from "./typed.js";
export type { CallContext, RequestContext, HandlerResult, CallOptions } from "./typed.js";
export { DEFAULT_CONNECT_SN_KEEP_ALIVE, DEFAULT_SEND_KEEP_ALIVE } from "./service-nodes.js";
export type { ConnectSNOptions } from "./service-nodes.js";
