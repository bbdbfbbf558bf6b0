import type { Dealer, Router } from "zeromq";
import type { Log } from "../base/log.js";

/**
 * Reads `socket` until it closes; an error in `onMessage` is logged and never stops the loop. `afterEach` runs after
 * each message, before the next receive: the one moment when no message has been read from the socket unprocessed.
 */
export async function receiveLoop(
  socket: Router | Dealer,
  log: Log,
  onMessage: (frames: Buffer[]) => void,
  afterEach?: () => void,
): Promise<void> {
  // `receive()` directly rather than `for await`: zeromq.js's async iterator adds a promise and a result object per
  // message.
  for (;;) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch (err) {
      if (!socket.closed) log.error(`receive loop stopped: ${String(err)}`);
      return;
    }
    try {
      onMessage(frames);
      afterEach?.();
    } catch (err) {
      log.error(`internal error handling a message: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
}
