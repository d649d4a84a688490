-- The platform's state. Plain SQL, applied in order under an advisory lock (src/store/migrate.ts).
-- Ids are UUIDs made by the application; times are timestamptz.

CREATE TABLE users (
  id uuid PRIMARY KEY,
  email text NOT NULL,
  display_name text NOT NULL DEFAULT '',
  platform_admin boolean NOT NULL DEFAULT false,
  oidc_issuer text,
  oidc_subject text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_oidc_key ON users (oidc_issuer, oidc_subject);

CREATE TABLE organizations (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  slug text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE projects (
  id uuid PRIMARY KEY,
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  slug text NOT NULL,
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, slug)
);

-- Desired state. `status` is what the controller last observed; `desired_state` is what was asked.
-- `generation` grows with every change the controller must act on (like a Kubernetes object's).
CREATE TABLE deployments (
  id uuid PRIMARY KEY,
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  name text NOT NULL,
  git_repo text NOT NULL,
  branch text NOT NULL,
  desired_state text NOT NULL DEFAULT 'running'
    CHECK (desired_state IN ('running', 'stopped', 'deleted')),
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'building', 'deploying', 'running', 'stopped', 'failed', 'deleting')),
  status_message text NOT NULL DEFAULT '',
  replicas integer NOT NULL DEFAULT 1 CHECK (replicas >= 0),
  cpu_millicores integer NOT NULL DEFAULT 0 CHECK (cpu_millicores >= 0),
  memory_mb integer NOT NULL DEFAULT 0 CHECK (memory_mb >= 0),
  strategy text NOT NULL DEFAULT '',
  current_build_id uuid,
  generation integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, name)
);
CREATE INDEX deployments_organization_idx ON deployments (organization_id);

CREATE TABLE builds (
  id uuid PRIMARY KEY,
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  status_message text NOT NULL DEFAULT '',
  git_repo text NOT NULL,
  branch text NOT NULL,
  commit_sha text NOT NULL DEFAULT '',
  image_id text NOT NULL DEFAULT '',
  logs text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX builds_deployment_idx ON builds (deployment_id, created_at DESC);

-- Values are AES-256-GCM ciphertexts (src/crypto/secret-box.ts); the key never reaches the database.
CREATE TABLE env_vars (
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  key text NOT NULL,
  value_encrypted text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment_id, key)
);

-- A domain belongs to one deployment on the whole platform: the primary key is the domain.
CREATE TABLE domains (
  domain text PRIMARY KEY CHECK (domain = lower(domain)),
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX domains_deployment_idx ON domains (deployment_id);

-- Only a SHA-256 of each token is kept.
CREATE TABLE api_tokens (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  organization_id uuid,
  user_id uuid,
  action text NOT NULL,
  resource_type text NOT NULL,
  resource_id text NOT NULL DEFAULT '',
  details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_organization_idx ON audit_log (organization_id, at DESC);

CREATE TABLE node_metadata (
  id text PRIMARY KEY,
  hostname text NOT NULL DEFAULT '',
  address text NOT NULL DEFAULT '',
  role text NOT NULL DEFAULT 'worker',
  availability text NOT NULL DEFAULT 'active' CHECK (availability IN ('active', 'drain', 'down')),
  status_message text NOT NULL DEFAULT '',
  labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  cpu_cores double precision NOT NULL DEFAULT 0,
  memory_bytes bigint NOT NULL DEFAULT 0,
  max_deployments integer NOT NULL DEFAULT 50,
  cpu_percent double precision NOT NULL DEFAULT 0,
  memory_used_bytes bigint NOT NULL DEFAULT 0,
  disk_percent double precision NOT NULL DEFAULT 0,
  deployment_count integer NOT NULL DEFAULT 0,
  last_heartbeat timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Where each replica of a deployment runs. One row per (deployment, replica slot).
CREATE TABLE deployment_locations (
  id uuid PRIMARY KEY,
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  replica integer NOT NULL DEFAULT 0,
  node_id text NOT NULL,
  container_id text NOT NULL DEFAULT '',
  build_id uuid,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('starting', 'running', 'stopped', 'failed')),
  address text NOT NULL DEFAULT '',
  port integer NOT NULL DEFAULT 0,
  domain text NOT NULL DEFAULT '',
  health_status text NOT NULL DEFAULT 'unknown',
  resource_usage jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deployment_locations_deployment_idx ON deployment_locations (deployment_id);
CREATE INDEX deployment_locations_node_idx ON deployment_locations (node_id);

CREATE TABLE deployment_routing (
  domain text NOT NULL,
  path_prefix text NOT NULL DEFAULT '/',
  deployment_id uuid NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  target_port integer NOT NULL DEFAULT 0,
  tls boolean NOT NULL DEFAULT false,
  lb_algorithm text NOT NULL DEFAULT 'round_robin',
  weights jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (domain, path_prefix)
);
CREATE INDEX deployment_routing_deployment_idx ON deployment_routing (deployment_id);

-- Small shared state of the controllers (round-robin position, …), so it survives restarts.
CREATE TABLE controller_state (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
