#!/usr/bin/env node
// The `obiente` command. TypeScript runs through tsx's loader, so there is no build step
// between `npm ci` and `npm start`.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
