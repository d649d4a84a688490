/**
 * Deliveries for the tests, shaped like the examples in each forge's webhook documentation and
 * trimmed to the fields that matter, with a few that do not (as real deliveries have many). Each
 * builder returns a fresh object, so a test may change one field and keep the rest.
 */

export const SHA_HEAD = "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d";
export const SHA_BEFORE = "95790bf891e76fee5e1747ab589903a6a1f80f22";
export const SHA_PR_HEAD = "c3a3ba2a2f5d0c1ebb62f7a4c3f5b0e1d2c4a6b8";
export const SHA_BASE = "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";
export const ZERO = "0000000000000000000000000000000000000000";

const githubRepository = (owner = "acme", name = "shop", id = 118_822_314) => ({
  id,
  node_id: "R_kgDOBxYz3A",
  name,
  full_name: `${owner}/${name}`,
  private: true,
  owner: { login: owner, id: 9_919, type: "Organization" },
  html_url: `https://github.com/${owner}/${name}`,
  fork: owner !== "acme",
  git_url: `git://github.com/${owner}/${name}.git`,
  ssh_url: `git@github.com:${owner}/${name}.git`,
  clone_url: `https://github.com/${owner}/${name}.git`,
  svn_url: `https://github.com/${owner}/${name}`,
  default_branch: "main",
});

const githubCommit = (id: string, message: string) => ({
  id,
  tree_id: "f9d2a07e9488b91af2641b26b9407fe22a451433",
  distinct: true,
  message,
  timestamp: "2025-05-20T14:03:11+02:00",
  url: `https://github.com/acme/shop/commit/${id}`,
  author: { name: "Ada Lovelace", email: "ada@example.com", username: "ada" },
  committer: { name: "GitHub", email: "noreply@github.com", username: "web-flow" },
  added: ["src/login.ts"],
  removed: [],
  modified: ["src/app.ts"],
});

export function githubPush() {
  return {
    ref: "refs/heads/feature/login",
    before: SHA_BEFORE,
    after: SHA_HEAD,
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/acme/shop/compare/${SHA_BEFORE.slice(0, 12)}...${SHA_HEAD.slice(0, 12)}`,
    commits: [githubCommit(SHA_HEAD, "Add the login form\n\nWith a remember-me box.")],
    head_commit: githubCommit(
      SHA_HEAD,
      "Add the login form\n\nWith a remember-me box.",
    ) as ReturnType<typeof githubCommit> | null,
    repository: githubRepository(),
    pusher: { name: "ada", email: "ada@example.com" },
    sender: { login: "ada", id: 5_101, type: "User" },
  };
}

export function githubPullRequest(action = "opened", fromFork = false) {
  const base = githubRepository();
  const head = fromFork ? githubRepository("grace", "shop", 220_004_911) : base;
  return {
    action,
    number: 42,
    pull_request: {
      url: "https://api.github.com/repos/acme/shop/pulls/42",
      id: 1_893_422_101,
      number: 42,
      state: action === "closed" ? "closed" : "open",
      locked: false,
      title: "Login form",
      user: { login: fromFork ? "grace" : "ada", id: 5_101 },
      body: "Adds the login form.",
      draft: false,
      merged: false,
      head: {
        label: `${fromFork ? "grace" : "acme"}:feature/login`,
        ref: "feature/login",
        sha: SHA_PR_HEAD,
        // null when the fork has been deleted since.
        repo: head as ReturnType<typeof githubRepository> | null,
      },
      base: { label: "acme:main", ref: "main", sha: SHA_BASE, repo: base },
    },
    repository: base,
    sender: { login: "ada", id: 5_101 },
  };
}

export function githubPing() {
  return {
    zen: "Design for failure.",
    hook_id: 531_270_114,
    hook: { type: "Repository", id: 531_270_114, events: ["push", "pull_request"], active: true },
    repository: githubRepository(),
    sender: { login: "ada", id: 5_101 },
  };
}

const giteaRepository = (owner = "acme", name = "shop", id = 140) => ({
  id,
  owner: { id: 1, login: owner, full_name: "", email: "", username: owner },
  name,
  full_name: `${owner}/${name}`,
  description: "",
  private: false,
  fork: owner !== "acme",
  html_url: `https://git.example.org/${owner}/${name}`,
  ssh_url: `ssh://git@git.example.org:2222/${owner}/${name}.git`,
  clone_url: `https://git.example.org/${owner}/${name}.git`,
  default_branch: "main",
});

export function giteaPush() {
  const commit = {
    id: SHA_HEAD,
    message: "Add the login form\n",
    url: `https://git.example.org/acme/shop/commit/${SHA_HEAD}`,
    author: { name: "Ada Lovelace", email: "ada@example.com", username: "ada" },
    committer: { name: "Ada Lovelace", email: "ada@example.com", username: "ada" },
    verification: null,
    timestamp: "2025-05-20T14:03:11+02:00",
    added: [],
    removed: [],
    modified: ["src/app.ts"],
  };
  return {
    ref: "refs/heads/main",
    before: SHA_BEFORE,
    after: SHA_HEAD,
    compare_url: `https://git.example.org/acme/shop/compare/${SHA_BEFORE}...${SHA_HEAD}`,
    commits: [commit],
    total_commits: 1,
    head_commit: commit as typeof commit | null,
    repository: giteaRepository(),
    pusher: { id: 1, login: "ada", username: "ada" },
    sender: { id: 1, login: "ada", username: "ada" },
  };
}

export function giteaPullRequest(action = "synchronized", fromFork = false) {
  const base = giteaRepository();
  const head = fromFork ? giteaRepository("grace", "shop", 141) : base;
  return {
    action,
    number: 7,
    pull_request: {
      id: 311,
      url: "https://git.example.org/acme/shop/pulls/7",
      number: 7,
      user: { id: 1, login: "ada" },
      title: "Login form",
      body: "",
      labels: [],
      state: action === "closed" ? "closed" : "open",
      html_url: "https://git.example.org/acme/shop/pulls/7",
      merged: false,
      base: { label: "main", ref: "main", sha: SHA_BASE, repo_id: base.id, repo: base },
      head: {
        label: "feature/login",
        ref: "feature/login",
        sha: SHA_PR_HEAD,
        repo_id: head.id,
        repo: head,
      },
    },
    repository: base,
    sender: { id: 1, login: "ada" },
    review: null,
  };
}

const gitlabProject = (id = 15, path = "acme/platform/shop") => ({
  id,
  name: path.split("/").pop(),
  description: "The shop.",
  web_url: `https://gitlab.example.com/${path}`,
  avatar_url: null,
  git_ssh_url: `git@gitlab.example.com:${path}.git`,
  git_http_url: `https://gitlab.example.com/${path}.git`,
  namespace: "Platform",
  visibility_level: 0,
  path_with_namespace: path,
  default_branch: "main",
  homepage: `https://gitlab.example.com/${path}`,
  url: `git@gitlab.example.com:${path}.git`,
  ssh_url: `git@gitlab.example.com:${path}.git`,
  http_url: `https://gitlab.example.com/${path}.git`,
});

const gitlabCommit = (id: string, message: string) => ({
  id,
  message,
  title: message.split("\n")[0],
  timestamp: "2025-05-20T14:03:11+02:00",
  url: `https://gitlab.example.com/acme/platform/shop/-/commit/${id}`,
  author: { name: "Ada Lovelace", email: "ada@example.com" },
  added: [],
  modified: ["src/app.ts"],
  removed: [],
});

export function gitlabPush() {
  return {
    object_kind: "push",
    event_name: "push",
    before: SHA_BEFORE,
    after: SHA_HEAD,
    ref: "refs/heads/main",
    ref_protected: true,
    checkout_sha: SHA_HEAD as string | null,
    user_id: 4,
    user_name: "Ada Lovelace",
    user_username: "ada",
    project_id: 15,
    project: gitlabProject(),
    commits: [
      gitlabCommit(SHA_BEFORE, "Fix the header"),
      gitlabCommit(SHA_HEAD, "Add the login form\n\nWith a remember-me box."),
    ],
    total_commits_count: 2,
    repository: {
      name: "shop",
      url: "git@gitlab.example.com:acme/platform/shop.git",
      homepage: "https://gitlab.example.com/acme/platform/shop",
    },
  };
}

export function gitlabTagPush() {
  return {
    ...gitlabPush(),
    object_kind: "tag_push",
    event_name: "tag_push",
    ref: "refs/tags/v1.2.0",
    before: ZERO,
    commits: [],
    total_commits_count: 0,
  };
}

export function gitlabMergeRequest(
  action = "open",
  options: { fork?: boolean; oldrev?: string } = {},
) {
  const target = gitlabProject();
  const source = options.fork ? gitlabProject(16, "grace/shop") : target;
  return {
    object_kind: "merge_request",
    event_type: "merge_request",
    user: { id: 4, name: "Ada Lovelace", username: "ada" },
    project: target,
    object_attributes: {
      id: 9_001,
      iid: 12,
      target_branch: "main",
      source_branch: "feature/login",
      source_project_id: source.id,
      target_project_id: target.id,
      title: "Draft: Login form",
      state: action === "close" ? "closed" : action === "merge" ? "merged" : "opened",
      merge_status: "unchecked",
      url: "https://gitlab.example.com/acme/platform/shop/-/merge_requests/12",
      source,
      target,
      last_commit: gitlabCommit(SHA_PR_HEAD, "Add the login form"),
      work_in_progress: true,
      draft: true,
      action,
      ...(options.oldrev ? { oldrev: options.oldrev } : {}),
    },
    labels: [],
    changes: {},
    repository: { name: "shop", url: "git@gitlab.example.com:acme/platform/shop.git" },
  };
}

const bitbucketRepository = (
  fullName = "acme/shop",
  uuid = "{3c5b9f0e-8a1d-4c4e-9a57-1c2f0d7e6b11}",
) => ({
  type: "repository",
  full_name: fullName,
  name: fullName.split("/")[1],
  uuid,
  is_private: true,
  scm: "git",
  links: {
    self: { href: `https://api.bitbucket.org/2.0/repositories/${fullName}` },
    html: { href: `https://bitbucket.org/${fullName}` },
    avatar: { href: `https://bytebucket.org/ravatar/${encodeURIComponent(uuid)}` },
  },
});

const bitbucketBranch = (name: string, hash: string) => ({
  type: "branch",
  name,
  target: {
    type: "commit",
    hash,
    author: {
      type: "author",
      raw: "Ada Lovelace <ada@example.com>",
      user: { display_name: "Ada Lovelace", uuid: "{b1f3}", type: "user" },
    },
    message: "Add the login form\n",
    date: "2025-05-20T12:03:11+00:00",
    parents: [{ type: "commit", hash: SHA_BEFORE }],
  },
  links: { html: { href: `https://bitbucket.org/acme/shop/branch/${name}` } },
});

type BitbucketRef = ReturnType<typeof bitbucketBranch> | { type: string; name: string } | null;

export function bitbucketChange(old: BitbucketRef, next: BitbucketRef) {
  return {
    old,
    new: next,
    created: old === null,
    closed: next === null,
    forced: false,
    truncated: false,
    commits: [],
  };
}

export function bitbucketPush(
  changes = [
    bitbucketChange(
      bitbucketBranch("feature/login", SHA_BEFORE),
      bitbucketBranch("feature/login", SHA_HEAD),
    ),
  ],
) {
  return {
    actor: { type: "user", display_name: "Ada Lovelace", uuid: "{b1f3}" },
    repository: bitbucketRepository(),
    push: { changes },
  };
}

export { bitbucketBranch };

export function bitbucketPullRequest(fromFork = false) {
  const destination = bitbucketRepository();
  const source = fromFork
    ? bitbucketRepository("grace/shop", "{9d0c2b8a-1111-4e2f-8c3d-5a6b7c8d9e0f}")
    : destination;
  return {
    actor: { type: "user", display_name: "Ada Lovelace", uuid: "{b1f3}" },
    pullrequest: {
      type: "pullrequest",
      id: 5,
      title: "Login form",
      description: "Adds the login form.",
      state: "OPEN",
      author: { display_name: "Ada Lovelace", uuid: "{b1f3}" },
      source: {
        branch: { name: "feature/login" },
        commit: { type: "commit", hash: SHA_PR_HEAD.slice(0, 12) },
        repository: source,
      },
      destination: {
        branch: { name: "main" },
        commit: { type: "commit", hash: SHA_BASE.slice(0, 12) },
        repository: destination,
      },
      merge_commit: null,
      close_source_branch: false,
      comment_count: 0,
      task_count: 0,
      created_on: "2025-05-20T12:05:00.000000+00:00",
      updated_on: "2025-05-20T12:05:00.000000+00:00",
    },
    repository: destination,
  };
}

/** A payload as the bytes a forge sends. */
export const bodyOf = (payload: unknown): Buffer => Buffer.from(JSON.stringify(payload), "utf8");
