/** One frame of a zmq message: a string is sent as its UTF-8 bytes. */
export type Frame = string | Uint8Array;

const frameCache = new Map<string, Buffer>();

/**
 * The bytes of a command name or other constant frame, cached: zeromq.js converts a JS string frame natively on every
 * send, which showed in the request benchmark. Bounded, since names come from the application.
 */
export function constantFrame(text: string): Buffer {
  let b = frameCache.get(text);
  if (b === undefined) {
    if (frameCache.size >= 1024) frameCache.clear();
    frameCache.set(text, (b = Buffer.from(text)));
  }
  return b;
}
