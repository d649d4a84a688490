-- The git loop: pushes that deploy, deploy hooks, the commit of each build, preview deployments.

-- A project's webhook secret, sealed with the secret box (bound to the project). Forges sign
-- their deliveries with it (GitHub, Gitea and Bitbucket: an HMAC of the body; GitLab sends it
-- as a token). Shown once when made; rotating replaces the row.
CREATE TABLE project_webhooks (
  project_id uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  secret_encrypted text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Deliveries seen, by the forge's delivery id: a delivery sent again is processed once. Rows
-- older than a week are pruned as new deliveries arrive.
CREATE TABLE webhook_deliveries (
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  forge text NOT NULL,
  delivery_id text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  outcome text NOT NULL DEFAULT '',
  PRIMARY KEY (project_id, forge, delivery_id)
);
CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (received_at);

-- A deployment's deploy hook: a secret URL that redeploys it on a bare POST. Only the token's
-- SHA-256 is kept; its first characters (`prefix`) tell hooks apart.
CREATE TABLE deploy_hooks (
  deployment_id uuid PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);

-- The commit the next build builds ('' for the branch's head), and what asked for it
-- ('api', 'push', 'pull_request', 'hook', 'preview'), copied to the build.
ALTER TABLE deployments ADD COLUMN wanted_commit text NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN build_trigger text NOT NULL DEFAULT '';

-- Each build's commit, as git reports it after the clone.
ALTER TABLE builds ADD COLUMN commit_message text NOT NULL DEFAULT '';
ALTER TABLE builds ADD COLUMN commit_author text NOT NULL DEFAULT '';
ALTER TABLE builds ADD COLUMN committed_at timestamptz;
ALTER TABLE builds ADD COLUMN trigger text NOT NULL DEFAULT '';

-- Previews: a deployment of another branch (or a pull request's) of a production deployment
-- (`parent_id`), with its own default domain under PLATFORM_DOMAIN. The production deployment
-- says whether pushes make previews and for which branches (a glob list, '' for all).
ALTER TABLE deployments ADD COLUMN previews_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE deployments ADD COLUMN preview_branches text NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN parent_id uuid;
ALTER TABLE deployments ADD COLUMN pull_request integer;
-- The last push or pull request event that touched a preview: PREVIEW_TTL_HOURS counts from it.
ALTER TABLE deployments ADD COLUMN last_push_at timestamptz;
CREATE UNIQUE INDEX deployments_preview_branch_idx ON deployments (parent_id, branch)
  WHERE parent_id IS NOT NULL;

-- Variables only previews get, over the production deployment's own (sealed like env_vars).
CREATE TABLE preview_env_vars (
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  key text NOT NULL,
  value_encrypted text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment_id, key)
);
