/**
 * The Dockerfile of a Go module: modules downloaded from go.mod and go.sum alone (a layer reused
 * while they do not change), a static binary (CGO off), then a small run stage with the binary
 * and the folders it reads.
 */

import type { GoApp } from "./detect-go.js";
import { caBundleLines, execForm, header, REMOVE_GENERATED } from "./dockerfile-lines.js";
import { APP_PORT } from "./plan.js";

export function goDockerfile(
  app: GoApp,
  images: { build: string; runtime: string },
  stack: string,
  caBundle: boolean,
  vendored: boolean,
): string {
  const lines = [
    header(stack),
    `FROM ${images.build} AS build`,
    "WORKDIR /src",
    "ENV CGO_ENABLED=0",
    ...caBundleLines(caBundle),
    `COPY go.mod${app.hasGoSum ? " go.sum" : ""} ./`,
    // Vendored modules are in the source; go build uses them without downloading anything.
    ...(app.hasGoSum && !vendored ? ["RUN go mod download"] : []),
    "COPY . .",
    REMOVE_GENERATED,
    `RUN go build -trimpath -ldflags="-s -w" -o /out/${app.binary} ${app.mainPackage}`,
    "",
    `FROM ${images.runtime}`,
    "WORKDIR /app",
    `COPY --from=build /out/${app.binary} /app/bin/${app.binary}`,
    ...app.assets.map((folder) => `COPY --from=build /src/${folder} /app/${folder}`),
    `ENV PORT=${APP_PORT}`,
    `EXPOSE ${APP_PORT}`,
    `CMD ${execForm(app.command)}`,
  ];
  return `${lines.join("\n")}\n`;
}
