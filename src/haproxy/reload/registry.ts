import { reloadCommand } from "./command.ts";
import { reloadWithMasterSocket } from "./master-socket.ts";
import { reloadWithPidFile } from "./pid-file.ts";
import type { ReloadStrategy } from "./strategy.ts";

/** Every reload strategy `mhc deploy` offers; a new one joins by adding its entry here. */
export const reloadStrategies: readonly ReloadStrategy[] = [
  reloadWithPidFile,
  reloadCommand,
  reloadWithMasterSocket,
];
