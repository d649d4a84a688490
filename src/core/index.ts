export type { AppContext } from "./context.js";
export { cachedForOrganization, invalidateOrganization, orgCachePrefix } from "./response-cache.js";
export { VERSION } from "./version.js";
