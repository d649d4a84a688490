-- Where a deployment's app is in its repository: the build context (a monorepo's app folder; ''
-- for the repository's root) and the Dockerfile to build with (from the repository's root; ''
-- for the context's own Dockerfile, or one the builder writes).
ALTER TABLE deployments ADD COLUMN root_directory text NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN dockerfile_path text NOT NULL DEFAULT '';
