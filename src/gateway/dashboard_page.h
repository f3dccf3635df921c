// The dashboard at GET /ui: one self-contained HTML page (no external scripts, fonts or
// styles; a machine serving local models is often offline).
//
// The page holds no data. It reads GET /admin/events (server-sent events: whole snapshots of
// the supervisor's status and the ledger's last events) with fetch() rather than EventSource,
// because EventSource cannot send the admin key; on 401 it asks for the key and keeps it in
// sessionStorage for the tab. It reconnects by itself, backing off up to 5 s as llama-swap's UI
// does, and shows how old what it shows is. What it draws: memory as `cortex plan --svg` draws
// it (reserves, each engine's ledger share split into weights, KV cache, compute and overhead,
// free), each engine's plan within its budget with a mark where its actual use is, uptime and
// last log lines (on a click), the lanes with queues, requests, errors, TTFT and tokens/s
// against target, the burst with a button, the machine's own numbers, ingest jobs with their
// progress, the last ledger events. Its buttons call the admin routes: /admin/burst and
// /admin/engines/NAME/ACTION.
#pragma once

#include <string_view>

namespace cortex::gateway {

std::string_view DashboardPage();

}  // namespace cortex::gateway
