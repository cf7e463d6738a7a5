export { cmdAdd } from "./add.ts";
export { cmdCheck } from "./check.ts";
export { cmdDel } from "./del.ts";
export type { Deps } from "./deps.ts";
export { cmdGc } from "./gc.ts";
export { createHandlers } from "./handlers.ts";
export { cmdStatus } from "./status.ts";
