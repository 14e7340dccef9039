import { runCommand, splitCommandLine } from "../../io/command.ts";
import type { ReloadStrategy } from "./strategy.ts";

/** An operator's command (e.g. `systemctl reload-or-restart haproxy`), run directly: no shell. */
export const reloadCommand: ReloadStrategy = {
  name: "reload-cmd",
  valueHint: "CMD",
  description: "Reload by running CMD (split into words, no shell)",
  select(value) {
    const argv = splitCommandLine(value, "--reload-cmd");
    return {
      kind: "reload-cmd",
      value,
      async reload() {
        await runCommand(argv, "reload command");
        return `ran ${argv.join(" ")}`;
      },
    };
  },
};
