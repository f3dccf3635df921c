// The running cortex's status (the /admin/status object, also each /admin/events snapshot) as
// the plain-text tables `cortex status`, `cortex burst` and `cortex top` print.
#pragma once

#include <boost/json.hpp>
#include <string>

namespace cortex::cli {

// Engines, lanes, the ledger and burst, and the machine's memory. Throws std::exception when
// the object lacks a field it needs (a status from an incompatible cortex).
std::string StatusTable(const boost::json::object& status);

// The memory pool as one bar `width` characters wide, the way `cortex plan --svg` stacks it:
// reserves (#), then each engine's ledger share under its own letter, then free (.), with a
// legend. Empty when the status has no ledger (no supervisor).
std::string MemoryBar(const boost::json::object& status, size_t width);

// The ingest jobs of an /admin/events snapshot ("ingest"."jobs"), with their progress. Empty
// when there are none.
std::string JobsTable(const boost::json::object& status);

// The ledger's last `count` events of a snapshot (its "ledger_events"), newest last.
std::string LedgerEventsTable(const boost::json::object& status, size_t count);

}  // namespace cortex::cli
