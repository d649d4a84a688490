import assert from "node:assert/strict";
import { test } from "node:test";
import { DomainError } from "../domain/errors.js";
import { detectBuild } from "./detect.js";
import { addSources, checkDockerfile, parseInstructions } from "./dockerfile-rules.js";
import { treeOf } from "./source-tree.js";

const refused = (text: string) => {
  assert.throws(
    () => checkDockerfile(text),
    (error: unknown) =>
      error instanceof DomainError &&
      error.kind === "failed_precondition" &&
      /ADD from a URL/.test(error.message),
    text,
  );
};

test("ADD with a URL is refused, however it is written", () => {
  for (const text of [
    "FROM x\nADD http://169.254.77.1/latest /m\n",
    "FROM x\nadd https://example.com/a.tgz /a\n",
    "FROM x\nADD --chown=1000:1000 http://10.0.0.12:2375/containers/json /c\n",
    "FROM x\nADD --chown=app --chmod=644 --checksum=sha256:00 https://h/f /f\n",
    "FROM x\nADD \\\n  http://10.0.0.12:2375/info \\\n  /info\n",
    "FROM x\nADD --chown=1:1 \\\n# a comment inside the continuation\n  http://h/x /x\n",
    "# escape=`\nFROM x\nADD `\n  http://h/x /x\n",
    'FROM x\nADD ["http://h/x", "/x"]\n',
    "FROM x\nADD local.txt ftp://h/x /dest/\n",
    "FROM x\nADD git@github.com:org/repo.git /src\n",
    "FROM x\nONBUILD ADD http://h/x /x\n",
    "FROM x\n   ADD    HTTP://H/X /x\n",
  ]) {
    refused(text);
  }
});

test("the message names the line and hides credentials in the URL", () => {
  try {
    checkDockerfile("FROM x\nRUN true\n\nADD https://user:s3cret@h/f /f\n", "Dockerfile");
    assert.fail("refused");
  } catch (error) {
    assert.ok(error instanceof DomainError);
    assert.match(error.message, /^Dockerfile line 4: ADD from a URL \(https:\/\/\*\*\*@h\/f\)/);
    assert.doesNotMatch(error.message, /s3cret/);
    assert.match(error.message, /RUN wget/);
  }
});

test("local sources, COPY and RUN with URLs are allowed", () => {
  for (const text of [
    "FROM x\nADD app.tar.gz /app/\nCOPY . /src\n",
    "FROM x\nRUN wget -O /x http://deb.debian.org/x\n",
    'FROM x\nCOPY ["a", "b"]\nADD ["local", "/dest"]\n',
    "FROM x\n# ADD http://h/x /x (a comment)\n",
    "FROM x\nRUN echo \\\n  ADD http://h/x /x\n",
    "FROM x\nLABEL url=http://h/x\nADD --chown=1:1 dir/ /dest/\n",
  ]) {
    checkDockerfile(text);
  }
});

test("instructions: directives, continuations, comments inside continuations", () => {
  const instructions = parseInstructions(
    '# escape=`\n# syntax=docker/dockerfile:1\nFROM busybox\nRUN echo a `\n  # dropped\n\n  b\nCMD ["x"]\n',
  );
  assert.deepEqual(
    instructions.map((i) => [i.keyword, i.args, i.line]),
    [
      ["FROM", "busybox", 3],
      ["RUN", "echo a  b", 4],
      ["CMD", '["x"]', 8],
    ],
  );
  assert.deepEqual(addSources("--chown=1:1 a b /dest/"), ["a", "b"]);
  assert.deepEqual(addSources('--link ["a b", "/d"]'), ["a b"]);
});

test("the Dockerfiles the builder generates pass", () => {
  const options = { nodeImage: "node:{major}-bookworm-slim", staticImage: "caddy:2-alpine" };
  const pkg = (value: unknown) => JSON.stringify(value);
  const apps: Array<Record<string, string>> = [
    { "package.json": pkg({ scripts: { start: "node ." } }) },
    {
      "package.json": pkg({ scripts: { build: "vite build" }, devDependencies: { vite: "5" } }),
      "package-lock.json": "{}",
    },
    { "index.html": "" },
    { "requirements.txt": "flask\n", "app.py": "app = Flask(__name__)\n" },
    { "go.mod": "module example.com/app\n\ngo 1.22\n", "main.go": "package main\n" },
  ];
  const plans = apps.map((files) => detectBuild({ tree: treeOf(files) }, options));
  plans.push(detectBuild({ tree: treeOf({ "index.html": "" }) }, { ...options, caBundle: true }));
  for (const plan of plans) {
    assert.equal(plan.generated, true, plan.stack);
    checkDockerfile(plan.dockerfile, plan.dockerfilePath);
  }
});
