export type { ApiServer } from "./server.js";
