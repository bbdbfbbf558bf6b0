import { initTRPC } from "@trpc/server";

/** The tRPC side of the benchmark: one `echo` query returning its input. Loaded by the server only; the client imports the type. */
const t = initTRPC.create();

export const echoRouter = t.router({
  echo: t.procedure.input((v: unknown) => v as { text: string }).query(({ input }) => input),
});

export type EchoRouter = typeof echoRouter;
