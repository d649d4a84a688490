export type { UrlOf } from "./convert.js";
export type { Domain, LogReader } from "./handlers/services.js";
export type { ApiServer } from "./server.js";
