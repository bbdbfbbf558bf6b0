#!/usr/bin/env node
// The omq command; the implementation is runtime/cli/omq.ts, built to dist/.
import "../dist/cli/omq.js";
