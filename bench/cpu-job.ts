/** A fixed amount of CPU work (not a timed spin, so that contention shows): `iterations` rounds of xorshift. */
export function work(iterations: number): number {
  let x = 2463534242;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x >>> 0;
}
