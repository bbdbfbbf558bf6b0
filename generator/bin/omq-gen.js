#!/usr/bin/env node
// The omq-gen command; the implementation is generator/cli.ts, built to dist/.
import "../dist/cli.js";
