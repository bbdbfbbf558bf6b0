import { OmqError } from "../base/errors.js";

/** The status of a successful status-first reply. */
export const STATUS_OK = "200";

/**
 * An application error of a typed request: the server handler threw it (or the arguments failed validation, 400),
 * and the client receives it with the same status and message. Unexpected handler exceptions become 500.
 */
export class RpcError extends OmqError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super("APP_ERROR", message);
  }
}

/**
 * Reads a status-first reply (`[status][payload…]`, what typed commands answer): the payload frames of a 200 reply,
 * or an RpcError with the status and message; BAD_REPLY when the first frame is not a status.
 */
export function unwrapStatus(reply: Buffer[], command: string): Buffer[] {
  const status = reply[0]?.toString("latin1") ?? "";
  if (status === STATUS_OK) return reply.slice(1);
  if (!/^[1-9][0-9]{2}$/.test(status)) throw new OmqError("BAD_REPLY", `${command}: the reply has no status code`);
  throw new RpcError(Number(status), reply[1]?.toString() ?? "");
}
