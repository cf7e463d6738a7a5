import type { Deps } from "./deps.ts";

/**
 * The node-wide lock's name: `<runDir>/cni.lock` is the file the Go plugin locks, so both
 * plugins serialise against each other on a node that runs them side by side.
 */
export const NODE_LOCK = "cni";

/**
 * Runs `fn` under the node-wide lock. A driver rebind or an RDMA namespace move recreates RDMA
 * devices, and the kernel names them in creation order: two at once could swap `mlx5_N` names
 * under the device plugin's feet. Everything else needs only the VF's own lock.
 */
export async function withNodeLock<T>(deps: Deps, fn: () => T | Promise<T>): Promise<T> {
  using _lock = await deps.store.lock(NODE_LOCK, deps.lockTimeoutMs);
  return await fn();
}
