/**
 * The dashboard's build: `vite build web` writes static files to web/dist, which the API process
 * serves (src/api/dashboard.ts). `vite web` serves it in development, proxying the API to
 * OBIENTE_API (default http://127.0.0.1:3000), so that the app and the API share one origin as
 * they do in production.
 */
import { defineConfig } from "vite";

const api = process.env.OBIENTE_API ?? "http://127.0.0.1:3000";
const proxied = ["/obiente.cloud.", "/api/", "/health", "/metrics"];

export default defineConfig({
  // Relative to this file's folder (web/), whatever the working directory.
  root: import.meta.dirname,
  base: "/",
  publicDir: "public",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Every browser the dashboard targets supports module preloading.
    modulePreload: { polyfill: false },
    // Small images stay files: the CSP allows data: images, but files cache better.
    assetsInlineLimit: 0,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 400,
  },
  server: {
    host: "127.0.0.1",
    // The generated contract lives in ../src/gen.
    fs: { allow: [".."] },
    proxy: Object.fromEntries(proxied.map((prefix) => [prefix, { target: api }])),
  },
});
