export { SEALED_COLUMNS } from "./columns.js";
export {
  type ColumnReport,
  type RotateOptions,
  rotateSecrets,
  type SealedColumn,
  type SealedValue,
} from "./rotate.js";
