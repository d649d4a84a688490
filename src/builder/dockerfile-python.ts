/**
 * The Dockerfile of a Python app: a build stage that makes a virtual environment in /app/.venv
 * and installs the dependencies into it, then a run stage with /app alone. The environment sees
 * the base image's own packages (--system-site-packages): an image that carries some already,
 * from its distribution, does not download them again.
 */

import type { PythonApp } from "./detect-python.js";
import { caBundleLines, envLine, execForm, header, REMOVE_GENERATED } from "./dockerfile-lines.js";
import { APP_PORT } from "./plan.js";

const RUN_ENV = {
  PYTHONDONTWRITEBYTECODE: "1",
  PYTHONUNBUFFERED: "1",
  VIRTUAL_ENV: "/app/.venv",
  PATH: "/app/.venv/bin:$PATH",
};

export function pythonDockerfile(
  app: PythonApp,
  image: string,
  stack: string,
  caBundle: boolean,
): string {
  const { install } = app;
  const source = ["COPY . .", REMOVE_GENERATED];
  const installs = install.commands.map(
    (command) => `RUN ${typeof command === "string" ? command : execForm(command)}`,
  );
  const lines = [
    header(stack),
    `FROM ${image} AS build`,
    "WORKDIR /app",
    envLine({ ...RUN_ENV, PIP_DISABLE_PIP_VERSION_CHECK: "1", ...install.env }),
    ...caBundleLines(caBundle),
    "RUN python -m venv --system-site-packages /app/.venv",
    ...(install.sourceFirst || install.manifests.length === 0
      ? [...source, ...installs]
      : [`COPY ${install.manifests.join(" ")} ./`, ...installs, ...source]),
    ...app.afterSource.map((command) => `RUN ${command}`),
    "",
    `FROM ${image}`,
    "WORKDIR /app",
    envLine({ ...RUN_ENV, PORT: String(APP_PORT) }),
    "COPY --from=build /app /app",
    `EXPOSE ${APP_PORT}`,
    `CMD ${execForm(app.command)}`,
  ];
  return `${lines.join("\n")}\n`;
}
