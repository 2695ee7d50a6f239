import { startVw, type Role, type VwApp } from '../../app/app.ts';
import type { Config } from '../../config/config.ts';
import { onShutdown } from './shutdown.ts';

/** Starts the roles in this process and stops them on SIGINT or SIGTERM. */
export async function runRoles(config: Config, roles: readonly Role[]): Promise<VwApp> {
  const app = await startVw(config, { roles });
  onShutdown(app.close);
  return app;
}

/** Roles the shipped escalation ladders notify, held by the demo's ward lead. */
