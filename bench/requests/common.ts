import { fileURLToPath } from "node:url";

/** The implementations compared side by side. */
export type Impl = "raw" | "untyped" | "typed" | "grpc";
export type Transport = "plain" | "curve";

export const PROTO = fileURLToPath(new URL("./echo.proto", import.meta.url)).replace(/dist\/bench/, "bench");

/** What the server process tells the runner once listening. */
export interface ServerReady {
  readonly type: "ready";
  readonly endpoint: string;
  /** Hex server key for curve. */
  readonly pubkey: string;
}

/** A client that makes one echo call; resolves when the reply arrived. */
export interface EchoClient {
  call(payload: Uint8Array): Promise<unknown>;
  close(): Promise<void>;
}
