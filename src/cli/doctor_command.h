// `cortex doctor [-c FILE] [--json] [--url URL]`: the deployment checklist, automated
// (doctor/doctor.h, docs/DOCTOR.md). Exits 0 when no check fails, 1 when one does, 2 when the
// config cannot be read.
#pragma once

#include "cli/admin_commands.h"

namespace CLI {
class App;
}

namespace cortex::cli {

struct DoctorOptions {
  AdminTarget target;
  bool json = false;
};
void AddDoctorOptions(CLI::App& app, DoctorOptions& options);
int RunDoctor(const DoctorOptions& options);

}  // namespace cortex::cli
