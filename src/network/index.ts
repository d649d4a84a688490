export {
  isAllowEntry,
  isIpv4,
  isIpv4Cidr,
  isPrivateIpv4,
  normalizeCidr,
  parseAllowEntry,
  serviceHosts,
} from "./cidr.js";
export { LocalCommands } from "./commands.js";
export { EngineCommands } from "./engine-commands.js";
export { readEngineView } from "./engine-view.js";
export { Iptables } from "./iptables.js";
export {
  CHAINS,
  CHAINS6,
  type IsolationInput,
  isolationRuleset,
  isolationRuleset6,
  JUMPS,
  JUMPS6,
} from "./isolation-rules.js";
