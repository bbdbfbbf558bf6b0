import { fileURLToPath } from "node:url";

/**
 * The implementations compared side by side: ours (untyped, typed), the raw zeromq ceiling, and the RPC stacks a Node
 * user would pick instead (grpc-js, moleculer over its TCP transporter, JSON-RPC over HTTP/1.1 with undici, tRPC over
 * WebSocket). The peers have no CURVE and run over "plain" only.
 */
export type Impl = "raw" | "untyped" | "typed" | "grpc" | "moleculer" | "jsonrpc" | "trpc";
export type Transport = "plain" | "curve";

export const PROTO = fileURLToPath(new URL("./echo.proto", import.meta.url)).replace(/dist\/bench/, "bench");

/** What the server process tells the runner once listening. */
export interface ServerReady {
  readonly type: "ready";
  readonly endpoint: string;
  /** Hex server key for curve. */
  readonly pubkey: string;
}

/** The server's CPU time so far (`process.cpuUsage()`), answered to {type:"cpu"}. */
export interface ServerCpu {
  readonly type: "cpu";
  readonly cpu: NodeJS.CpuUsage;
}

/** The server's RSS after a GC, answered to {type:"rss"}. */
export interface ServerRss {
  readonly type: "rss";
  readonly rss: number;
}

/** The moleculer server broker's node ID (the client names it in its `urls`) and service name. */
export const MOLECULER_SERVER_NODE = "bench-server";
export const MOLECULER_SERVICE = "bench";

/** A client that makes one echo call; resolves when the reply arrived. */
export interface EchoClient {
  call(payload: Uint8Array): Promise<unknown>;
  close(): Promise<void>;
}
