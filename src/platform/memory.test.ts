import { runContractSuite } from "./contract-suite.js";
import { createPlatformServices } from "./services.js";

runContractSuite("in-process", (options) => createPlatformServices(options));
