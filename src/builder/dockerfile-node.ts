/**
 * The Dockerfile of a Node.js (or Bun) app: a build stage that installs the dependencies (from
 * the manifests alone when it can, so that the layer is reused while they do not change) and runs
 * the build script; then a run stage with only what runs — the app, or its static output under
 * the static server.
 */

import type { NodeApp } from "./detect-node.js";
import { caBundleLines, envLine, execForm, header, REMOVE_GENERATED } from "./dockerfile-lines.js";
import { caddyfileOf, staticStage } from "./dockerfile-static.js";
import { APP_PORT, type PlanFile } from "./plan.js";

/** Builds stay quiet and offline-friendly: no update checks, funding notes or telemetry. */
const BUILD_ENV: Record<string, string> = {
  NPM_CONFIG_UPDATE_NOTIFIER: "false",
  NPM_CONFIG_FUND: "false",
  NPM_CONFIG_AUDIT: "false",
  NEXT_TELEMETRY_DISABLED: "1",
  NUXT_TELEMETRY_DISABLED: "1",
  ASTRO_TELEMETRY_DISABLED: "1",
  GATSBY_TELEMETRY_DISABLED: "1",
};

export function nodeDockerfile(
  app: NodeApp,
  images: { build: string; static: string },
  stack: string,
  caBundle: boolean,
): { dockerfile: string; files: PlanFile[] } {
  const { packageManager: pm, output } = app;
  const source = ["COPY . .", REMOVE_GENERATED];
  const install = [
    ...pm.setup.map((command) => `RUN ${command}`),
    ...(app.sourceBeforeInstall ? source : copyManifests(pm.manifests)),
    `RUN ${pm.install}`,
    ...(app.sourceBeforeInstall ? [] : source),
  ];
  const lines = [
    header(stack),
    `FROM ${images.build} AS build`,
    "WORKDIR /app",
    envLine({ ...BUILD_ENV, ...pm.env }),
    ...caBundleLines(caBundle),
    ...install,
    ...(app.build === undefined ? [] : [`RUN ${app.build}`]),
    "",
  ];
  if (output.kind === "static") {
    lines.push(
      ...staticStage(images.static, (root) => `COPY --from=build /app/${output.dir} ${root}`),
    );
    return { dockerfile: `${lines.join("\n")}\n`, files: [caddyfileOf(output.fallback)] };
  }
  const copies: [string, string][] = output.copies.length > 0 ? output.copies : [[".", "."]];
  lines.push(
    `FROM ${images.build}`,
    "WORKDIR /app",
    envLine({ NODE_ENV: "production", PORT: String(APP_PORT), ...output.env }),
    ...copies.map(([from, to]) => `COPY --from=build ${join("/app", from)} ${join("/app", to)}`),
    `EXPOSE ${APP_PORT}`,
    `CMD ${execForm(output.command)}`,
  );
  return { dockerfile: `${lines.join("\n")}\n`, files: [] };
}

/** One COPY for the files, one per folder (COPY puts a folder's contents where it is told). */
function copyManifests(manifests: readonly string[]): string[] {
  const files = manifests.filter((path) => !isFolder(path));
  const folders = manifests.filter(isFolder);
  return [`COPY ${files.join(" ")} ./`, ...folders.map((folder) => `COPY ${folder} ./${folder}`)];
}

function isFolder(path: string): boolean {
  return path === "patches" || path.startsWith(".yarn/");
}

function join(base: string, path: string): string {
  return path === "." ? base : `${base}/${path}`;
}
