export {
  aborted,
  alreadyExists,
  DomainError,
  type DomainErrorKind,
  failedPrecondition,
  hasReason,
  imageMissing,
  invalidArgument,
  isTerminal,
  notFound,
  permissionDenied,
  resourceExhausted,
  unauthenticated,
  unavailable,
} from "./errors.js";
export { DEPLOY_JOB, deployJobId, NODE_CHANGED_JOB, nodeChangedJobId } from "./jobs.js";
export { DEPLOYMENT_LABEL_VALUE, LABEL_PREFIX, LABELS, sameLabels } from "./labels.js";
export * as validation from "./validation.js";
export { branch, gitRepo, slugify, uuid } from "./validation.js";
