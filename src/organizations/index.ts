export {
  footprintDelta,
  type Limits,
  type QuotaDelta,
  QuotaService,
  type QuotaServiceDeps,
  type QuotaView,
  type StreamLease,
} from "./quotas.js";
export {
  type Member,
  type Organization,
  OrganizationService,
  type OrganizationServiceDeps,
} from "./service.js";
