/**
 * A Python app: which tool installs its dependencies (pip from requirements.txt or pyproject.toml,
 * Poetry, uv, Pipenv), which Python runs it, and how it starts — Django and Flask with gunicorn,
 * FastAPI with uvicorn, by their conventions; else a Procfile or a main script. Pure.
 */
import { failedPrecondition } from "../domain/index.js";
import { DEFAULT_PYTHON_VERSION } from "./base-images.js";
import type { PlanReason } from "./plan.js";
import { normalizeName, readRequirements, readToml } from "./python-manifests.js";
import type { SourceTree } from "./source-tree.js";

/** Files whose presence makes a Python app. */
export const PYTHON_MARKERS = ["requirements.txt", "pyproject.toml", "Pipfile", "manage.py"];

export interface PythonInstall {
  /** Files copied before the install (the rest of the source comes after it). */
  manifests: string[];
  /** Whether the install needs the whole source first (a package of its own, `-r` files). */
  sourceFirst: boolean;
  /** Each a RUN line's command, shell form without user values, or exec form (a JSON array). */
  commands: (string | string[])[];
  env: Record<string, string>;
}

export interface PythonApp {
  framework: string;
  /** major.minor, e.g. "3.11". */
  version: string;
  install: PythonInstall;
  /** Commands of the build stage after the source is in (collectstatic). */
  afterSource: string[];
  command: string[];
}

export function analyzePython(
  tree: SourceTree,
  reasons: PlanReason[],
  options: { procfileWeb?: string | undefined },
): PythonApp {
  const files = new Set(tree.files);
  const version = pythonVersion(tree, reasons);
  const install = installPlan(tree, files, reasons);
  const names = dependencyNames(tree);

  let framework = "Python";
  let command: string[] | undefined;
  const afterSource: string[] = [];
  const need = (name: "gunicorn" | "uvicorn") => {
    if (names.has(name)) return;
    install.commands.push(["pip", "install", "--no-cache-dir", name]);
    reasons.push({
      file: "",
      detail: `${name} is not among the dependencies: the build installs it`,
    });
  };

  const django = names.has("django") || files.has("manage.py");
  if (django && files.has("manage.py")) {
    framework = "Django";
    const manage = tree.contents.get("manage.py") ?? "";
    const settings = /DJANGO_SETTINGS_MODULE["']\s*,\s*["']([A-Za-z_][\w.]*)["']/.exec(manage)?.[1];
    const project = settings?.split(".")[0];
    if (project === undefined || !files.has(`${project}/wsgi.py`)) {
      throw failedPrecondition(
        `manage.py: cannot find the project's wsgi.py (from DJANGO_SETTINGS_MODULE${settings === undefined ? ", which manage.py does not set" : ` "${settings}"`}): add a Procfile with a web: line`,
      );
    }
    reasons.push({
      file: "manage.py",
      detail: `Django project "${project}": gunicorn ${project}.wsgi`,
    });
    need("gunicorn");
    const settingsText = tree.contents.get(`${project}/settings.py`) ?? "";
    if (/^\s*STATIC_ROOT\s*=/m.test(settingsText)) {
      afterSource.push("python manage.py collectstatic --noinput");
      reasons.push({
        file: `${project}/settings.py`,
        detail: "STATIC_ROOT is set: manage.py collectstatic runs in the build",
      });
    }
    command = gunicorn(`${project}.wsgi`);
  } else if (names.has("fastapi")) {
    framework = "FastAPI";
    const app = findApp(tree, /^(\w+)\s*(?::\s*[\w.]+\s*)?=\s*(?:fastapi\.)?FastAPI\(/m);
    if (app === undefined) throw notFound("FastAPI", "app = FastAPI()");
    reasons.push({ file: app.file, detail: `FastAPI app "${app.target}": uvicorn ${app.target}` });
    need("uvicorn");
    command = uvicorn(app.target);
  } else if (names.has("flask")) {
    framework = "Flask";
    const app =
      findApp(tree, /^(\w+)\s*(?::\s*[\w.]+\s*)?=\s*(?:flask\.)?Flask\(/m) ??
      findApp(tree, /^def\s+(create_app)\s*\(/m, "()");
    if (app === undefined) throw notFound("Flask", "app = Flask(__name__)");
    reasons.push({ file: app.file, detail: `Flask app "${app.target}": gunicorn ${app.target}` });
    need("gunicorn");
    command = gunicorn(app.target);
  }

  if (options.procfileWeb !== undefined) {
    reasons.push({ file: "Procfile", detail: "the web: line starts the app" });
    command = ["sh", "-c", options.procfileWeb];
  }
  if (command === undefined) {
    const script = ["main.py", "app.py", "server.py"].find((file) => files.has(file));
    if (script === undefined) {
      throw failedPrecondition(
        "a Python app, but no Django, Flask or FastAPI app found, and no main.py, app.py or server.py: add a Procfile with a web: line",
      );
    }
    reasons.push({ file: script, detail: `python ${script}` });
    command = ["python", script];
  }
  return { framework, version, install, afterSource, command };
}

/** `exec` hands PID 1 to the server, so that it gets the stop signal. */
function gunicorn(target: string): string[] {
  return ["sh", "-c", `exec python -m gunicorn --bind "0.0.0.0:\${PORT:-8080}" '${target}'`];
}

function uvicorn(target: string): string[] {
  return ["sh", "-c", `exec python -m uvicorn '${target}' --host 0.0.0.0 --port "\${PORT:-8080}"`];
}

function notFound(framework: string, example: string): Error {
  return failedPrecondition(
    `a ${framework} app, but no module of the root (or of one folder) assigns it (${example}): add a Procfile with a web: line`,
  );
}

/** The files that may hold the app object, in the order they are looked at. */
const APP_FILES = [
  "app.py",
  "main.py",
  "wsgi.py",
  "asgi.py",
  "server.py",
  "application.py",
  "api.py",
  "app/__init__.py",
  "app/main.py",
  "app/app.py",
  "src/main.py",
  "src/app.py",
];

/** The first `module:name` (module dotted, name an identifier) whose file matches `pattern`. */
function findApp(
  tree: SourceTree,
  pattern: RegExp,
  suffix = "",
): { file: string; target: string } | undefined {
  const candidates = [
    ...APP_FILES,
    ...[...tree.contents.keys()]
      .filter((path) => path.endsWith(".py") && !APP_FILES.includes(path))
      .sort(),
  ];
  for (const file of candidates) {
    const text = tree.contents.get(file);
    if (text === undefined) continue;
    const name = pattern.exec(text)?.[1];
    if (name === undefined) continue;
    const module = file
      .replace(/\.py$/, "")
      .replace(/\/__init__$/, "")
      .replaceAll("/", ".");
    if (!/^[A-Za-z_][\w.]*$/.test(module)) continue;
    return { file, target: `${module}:${name}${suffix}` };
  }
  return undefined;
}

function pythonVersion(tree: SourceTree, reasons: PlanReason[]): string {
  const pinned = tree.contents.get(".python-version");
  const runtime = tree.contents.get("runtime.txt");
  const [file, match] =
    pinned !== undefined
      ? [".python-version", /^\s*(?:python-?)?(3\.\d+)/.exec(pinned)]
      : runtime !== undefined
        ? ["runtime.txt", /^\s*python-(3\.\d+)/.exec(runtime)]
        : ["", null];
  if (file === "") {
    reasons.push({ file: "", detail: `no .python-version: Python ${DEFAULT_PYTHON_VERSION}` });
    return DEFAULT_PYTHON_VERSION;
  }
  if (!match) throw failedPrecondition(`${file}: expected a Python 3 version such as 3.12`);
  reasons.push({ file, detail: `Python ${match[1]}` });
  return match[1] as string;
}

function installPlan(tree: SourceTree, files: Set<string>, reasons: PlanReason[]): PythonInstall {
  const pip = ["pip", "install", "--no-cache-dir"];
  const pyproject = tree.contents.has("pyproject.toml")
    ? readToml(tree.contents.get("pyproject.toml") ?? "")
    : undefined;
  if (files.has("uv.lock") || pyproject?.tables.has("tool.uv")) {
    const locked = files.has("uv.lock");
    reasons.push({
      file: locked ? "uv.lock" : "pyproject.toml",
      detail: `uv: uv sync${locked ? " --frozen" : ""}`,
    });
    return {
      manifests: ["pyproject.toml", ...(locked ? ["uv.lock"] : [])],
      sourceFirst: false,
      commands: [
        [...pip, "uv"],
        `uv sync${locked ? " --frozen" : ""} --no-dev --no-install-project`,
      ],
      env: { UV_PROJECT_ENVIRONMENT: "/app/.venv", UV_LINK_MODE: "copy" },
    };
  }
  if (files.has("poetry.lock") || pyproject?.tables.has("tool.poetry")) {
    reasons.push({
      file: files.has("poetry.lock") ? "poetry.lock" : "pyproject.toml",
      detail: "Poetry: poetry install --only main",
    });
    return {
      manifests: ["pyproject.toml", ...(files.has("poetry.lock") ? ["poetry.lock"] : [])],
      sourceFirst: false,
      commands: [
        [...pip, "poetry"],
        "poetry install --only main --no-root --no-interaction --no-ansi",
      ],
      // Into the virtual environment the build made (VIRTUAL_ENV), not one of Poetry's own.
      env: { POETRY_VIRTUALENVS_CREATE: "false" },
    };
  }
  if (files.has("Pipfile")) {
    const locked = files.has("Pipfile.lock");
    reasons.push({
      file: locked ? "Pipfile.lock" : "Pipfile",
      detail: "Pipenv: its locked requirements installed with pip",
    });
    return {
      manifests: ["Pipfile", ...(locked ? ["Pipfile.lock"] : [])],
      sourceFirst: false,
      commands: [
        [...pip, "pipenv"],
        `${locked ? "" : "pipenv lock && "}pipenv requirements > /tmp/requirements.txt && pip install --no-cache-dir -r /tmp/requirements.txt`,
      ],
      env: {},
    };
  }
  if (files.has("requirements.txt")) {
    const requirements = readRequirements(tree.contents.get("requirements.txt") ?? "");
    reasons.push({
      file: "requirements.txt",
      detail: `pip install -r requirements.txt${requirements.needsSource ? " (it refers to other files: the whole source first)" : ""}`,
    });
    return {
      manifests: ["requirements.txt"],
      sourceFirst: requirements.needsSource,
      commands: [[...pip, "-r", "requirements.txt"]],
      env: {},
    };
  }
  if (pyproject !== undefined) {
    if (pyproject.tables.has("build-system")) {
      reasons.push({
        file: "pyproject.toml",
        detail: "a package with a build system: pip install .",
      });
      return {
        manifests: ["pyproject.toml"],
        sourceFirst: true,
        commands: [[...pip, "."]],
        env: {},
      };
    }
    const dependencies = pyproject.projectDependencies ?? [];
    reasons.push({
      file: "pyproject.toml",
      detail: `[project] dependencies (${dependencies.length}), installed with pip`,
    });
    return {
      manifests: ["pyproject.toml"],
      sourceFirst: false,
      commands: dependencies.length > 0 ? [[...pip, ...dependencies]] : [],
      env: {},
    };
  }
  reasons.push({
    file: "",
    detail: "no requirements.txt, pyproject.toml or Pipfile: nothing to install",
  });
  return { manifests: [], sourceFirst: false, commands: [], env: {} };
}

/** Names of the declared dependencies, whatever the manifest. */
function dependencyNames(tree: SourceTree): Set<string> {
  const names = new Set<string>();
  const add = (spec: string) => {
    const name = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(spec)?.[1];
    if (name !== undefined) names.add(normalizeName(name));
  };
  const requirements = tree.contents.get("requirements.txt");
  if (requirements !== undefined)
    for (const name of readRequirements(requirements).names) names.add(name);
  const pyproject = tree.contents.get("pyproject.toml");
  if (pyproject !== undefined) {
    const toml = readToml(pyproject);
    for (const spec of toml.projectDependencies ?? []) add(spec);
    for (const key of toml.keysOf("tool.poetry.dependencies")) add(key);
  }
  const pipfile = tree.contents.get("Pipfile");
  if (pipfile !== undefined) for (const key of readToml(pipfile).keysOf("packages")) add(key);
  return names;
}
