import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface VoteRound {
  readonly nodes: number;
  readonly ok: number;
  readonly total: number;
  /** From "go" until the last node had all its replies. */
  readonly roundMs: number;
}

type FromNode =
  | { type: "ready"; pubkey: string; endpoint: string }
  | { type: "armed" }
  | { type: "done"; ok: number; failed: number; ms: number };

/**
 * N service nodes as separate processes on loopback, each with its own key pair and a shared lookup table; every node
 * sends a "vote" request to every other node by public key over CURVE and collects the replies.
 */
export async function runVoteRound(n: number): Promise<VoteRound> {
  const script = fileURLToPath(new URL("./network-node.js", import.meta.url));
  const children: ChildProcess[] = [];
  const inbox: FromNode[][] = [];
  const waiters: Array<() => void> = [];
  const waitAll = async (type: FromNode["type"]): Promise<FromNode[]> => {
    for (;;) {
      const got = inbox.map((q) => q.find((m) => m.type === type));
      if (got.every(Boolean)) return got as FromNode[];
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  try {
    for (let i = 0; i < n; i++) {
      const child = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
      inbox.push([]);
      child.on("message", (m: FromNode) => {
        inbox[i]!.push(m);
        for (const w of waiters.splice(0)) w();
      });
      child.on("exit", (code) => {
        if (code)
          inbox[i]!.push(
            { type: "done", ok: 0, failed: n - 1, ms: 0 },
            { type: "armed" },
            { type: "ready", pubkey: "", endpoint: "" },
          );
        for (const w of waiters.splice(0)) w();
      });
      child.on("error", () => {}); // a child that died: reported through "exit"
      children.push(child);
    }
    const ready = (await waitAll("ready")) as Array<Extract<FromNode, { type: "ready" }>>;
    const table = ready.map((r) => [r.pubkey, r.endpoint]);
    const tell = (m: object): void => children.forEach((c) => c.connected && c.send(m));
    tell({ type: "table", table });
    await waitAll("armed");
    const t0 = performance.now();
    tell({ type: "go" });
    const done = (await waitAll("done")) as Array<Extract<FromNode, { type: "done" }>>;
    const roundMs = performance.now() - t0;
    return { nodes: n, ok: done.reduce((s, d) => s + d.ok, 0), total: n * (n - 1), roundMs };
  } finally {
    for (const c of children) if (c.connected) c.send({ type: "exit" });
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once("exit", () => r())),
      ),
    );
  }
}
