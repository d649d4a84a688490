export {
  generateMasterKey,
  keyFingerprint,
  parseMasterKey,
  SecretBox,
  type SecretBoxOptions,
  sealedKeyId,
} from "./secret-box.js";
export {
  API_TOKEN_PREFIX,
  apiTokenMatches,
  constantTimeEqual,
  type GeneratedApiToken,
  generateApiToken,
  hashApiToken,
  looksLikeApiToken,
} from "./tokens.js";
