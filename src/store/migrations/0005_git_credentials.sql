-- A deployment's credential for its https repository (what `https://user:token@host/…` carried),
-- apart from the deployment and sealed with the secret box (`credential_encrypted`), for the
-- repository's origin only (scheme, host and port: a repository moved to another host does not
-- take it along). Deployments written before keep their credential in git_repo until the
-- platform's next start moves it here (the secret box is not reachable from SQL).
CREATE TABLE deployment_git_credentials (
  deployment_id uuid PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
  origin text NOT NULL,
  credential_encrypted text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Copies of those URLs elsewhere lose their user-info: the audit log's details and the builds.
UPDATE audit_log
SET details = regexp_replace(details::text, '(https?://)[^/@"\s]+@', '\1', 'gi')::jsonb
WHERE details::text ~* 'https?://[^/@"\s]+@';

UPDATE builds
SET git_repo = regexp_replace(git_repo, '^(https?://)[^/@]+@', '\1', 'i')
WHERE git_repo ~* '^https?://[^/@]+@';
