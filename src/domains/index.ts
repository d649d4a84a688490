export {
  DomainRecheck,
  type DomainRecheckOptions,
  type RecheckReport,
} from "./recheck.js";
export {
  isReservedHost,
  isReservedLabel,
  type ReservedNames,
  type ReservedNamesConfig,
  reservedNames,
} from "./reserved.js";
export {
  CHALLENGE_LABEL,
  challengeRecordName,
  challengeRecordValue,
  type DomainInstructions,
  dnsTxtLookup,
  domainInstructions,
  type Judgement,
  judge,
  organizationDomainToken,
  type TxtAnswer,
  type TxtLookup,
} from "./verification.js";
