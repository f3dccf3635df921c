// cortex top [-c FILE] [--url URL] [-n COUNT]: the running cortex up, live, in the terminal.
//
// It follows GET /admin/events (the dashboard's stream). On a terminal it redraws one screen —
// engines with plan and actual memory, lanes with their queues, the ledger, the burst, the
// machine, the ledger's last events — at every snapshot (at least once a second, at once on a
// change), on the alternate screen like top(1), and `q` quits. Piped or redirected it prints
// the first snapshot and then each change as plain text, one block each, for logs and scripts.
// A dropped stream (cortex restarting) is reconnected with backoff up to 5 s; a gateway that
// cannot be reached at the start, or that refuses the admin key, exits 1 saying so.
#pragma once

#include "cli/admin_commands.h"

namespace cortex::cli {

struct TopOptions {
  AdminTarget target;
  int count = 0;  // stop after this many screens (0: until q or a signal)
};
void AddTopOptions(CLI::App& app, TopOptions& options);
int RunTop(const TopOptions& options);

}  // namespace cortex::cli
