-- A project's deploy key: an ed25519 key pair the platform made, for cloning the project's ssh
-- repositories (src/projects/deploy-keys.ts). The private key is sealed with the secret box
-- (`private_key_encrypted`, bound to the project); the public key (an authorized_keys line) and
-- its fingerprint are shown to the project's members, for their forge's deploy key form. One per
-- project: rotating replaces the row.
CREATE TABLE project_deploy_keys (
  project_id uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  public_key text NOT NULL,
  fingerprint text NOT NULL,
  private_key_encrypted text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
