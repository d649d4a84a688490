export {
  type CompactVerdicts,
  expandVerdicts,
  type NodeExplanation,
  TOTAL,
} from "./explain.js";
export {
  type Infeasible,
  type Scheduled,
  type ScheduleOptions,
  type ScheduleResult,
  schedule,
} from "./schedule.js";
export {
  type ClusterSnapshot,
  DEFAULT_REQUIRED_LABELS,
  DEFAULT_STRATEGY,
  type NodeAvailability,
  type NodeSnapshot,
  type Placement,
  type PlacementRequest,
  type SchedulerState,
  STRATEGY_NAMES,
  type StrategyName,
  strategyFor,
} from "./snapshot.js";
