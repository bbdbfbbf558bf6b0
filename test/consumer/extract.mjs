// Writes the files of the README's "Use it in your own project" section (fenced blocks marked filename="…") into a
// folder, verbatim: the consumer test runs exactly what a new user would copy.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const [readme, dest] = process.argv.slice(2);
const text = readFileSync(readme, "utf8");
const start = text.indexOf("## Use it in your own project");
const end = text.indexOf("\n## ", start + 1);
if (start < 0) throw new Error(`${readme}: no "Use it in your own project" section`);
const section = text.slice(start, end < 0 ? undefined : end);
const blocks = [...section.matchAll(/```\w+ filename="([^"]+)"\n([\s\S]*?)\n```/g)];
if (blocks.length === 0) throw new Error("no file blocks in the section");
for (const [, name, body] of blocks) {
  const path = join(dest, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body + "\n");
  console.log(`wrote ${name}`);
}
