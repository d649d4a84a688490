/**
 * Webhook deliveries from git forges (GitHub, GitLab, Gitea and Forgejo, Bitbucket Cloud): whether
 * one is genuine, what it means, and the small decisions around it (is it our repository, does the
 * deployment follow the branch, what is the preview called). Pure: no I/O, no clock.
 */
export { branchMatches } from "./branch-glob.js";
export {
  type CommitInfo,
  FORGE_NAMES,
  type ForgeEvent,
  type ForgeName,
  type Headers,
  isForgeName,
  type RepositoryRef,
} from "./forge.js";
export { parseDelivery } from "./parse.js";
export { previewLabel } from "./preview-label.js";
export { sameRepository } from "./remote-url.js";
export { verifyDelivery } from "./verify.js";
