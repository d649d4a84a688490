-- The tenant boundary (docs/security-tenancy.md): quotas per organization, proof of domain
-- ownership, invitations that are not accounts.

-- Limits set for one organization by a platform administrator. A NULL column follows the
-- platform-wide default (the QUOTA_* variables), so that changing a default reaches every
-- organization without an override.
CREATE TABLE organization_quotas (
  organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  deployments integer CHECK (deployments >= 0),
  replicas integer CHECK (replicas >= 0),
  cpu_millicores integer CHECK (cpu_millicores >= 0),
  memory_mb integer CHECK (memory_mb >= 0),
  domains integer CHECK (domains >= 0),
  concurrent_builds integer CHECK (concurrent_builds >= 0),
  concurrent_streams integer CHECK (concurrent_streams >= 0),
  log_tail_lines integer CHECK (log_tail_lines >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Log and metrics streams open now, counted against the concurrent_streams quota by every API
-- process. The process serving a stream renews its lease; a lease left by a process that died
-- expires on its own.
CREATE TABLE stream_leases (
  id uuid PRIMARY KEY,
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  kind text NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX stream_leases_organization_idx ON stream_leases (organization_id, expires_at);

-- The value of the TXT record `_obiente-challenge.<domain>` that proves the organization owns a
-- domain; made on first use.
ALTER TABLE organizations ADD COLUMN domain_token text;

-- A custom domain is `pending` until its organization proves it owns it; only `verified` domains
-- are routed. `unverified`: it was verified, and the daily re-check has not found the record for
-- the whole grace period. Domains that exist before this migration keep being routed, as
-- `verified` with no `verified_at`: the first re-check looks for their record and, when it is
-- missing, starts their grace period.
ALTER TABLE domains ADD COLUMN status text NOT NULL DEFAULT 'verified'
  CHECK (status IN ('pending', 'verified', 'unverified'));
ALTER TABLE domains ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE domains ADD COLUMN status_message text NOT NULL DEFAULT '';
ALTER TABLE domains ADD COLUMN verified_at timestamptz;
ALTER TABLE domains ADD COLUMN checked_at timestamptz;
-- The first failed re-check since the record was last seen: the grace period runs from here.
ALTER TABLE domains ADD COLUMN failing_since timestamptz;
-- Several organizations may claim a domain while it is pending (a claim alone proves nothing,
-- so it must not lock the real owner out); the first to verify it has it: one verified row per
-- domain on the whole platform.
ALTER TABLE domains DROP CONSTRAINT domains_pkey;
ALTER TABLE domains ADD PRIMARY KEY (domain, organization_id);
CREATE UNIQUE INDEX domains_verified_key ON domains (domain) WHERE status = 'verified';
CREATE INDEX domains_status_idx ON domains (status, checked_at);

-- A user added by email who has never signed in is an invitation, not an account: the first
-- OIDC sign-in with that email, verified by the issuer, takes it. No other user is ever found
-- by email at sign-in. Users of that kind made before this migration are marked as such.
ALTER TABLE users ADD COLUMN invited boolean NOT NULL DEFAULT false;
UPDATE users SET invited = true
  WHERE oidc_subject IS NULL
    AND NOT platform_admin
    AND NOT EXISTS (SELECT 1 FROM api_tokens WHERE api_tokens.user_id = users.id);
