export {
  footprintDelta,
  type QuotaDelta,
  QuotaService,
  type QuotaView,
  type StreamLease,
} from "./quotas.js";
export { type Member, type Organization, OrganizationService } from "./service.js";
