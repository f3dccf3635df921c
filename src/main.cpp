// cortex: runs several LLM inference engines on one unified-memory machine as one service.
// Everything lives in the cli/ module; this file only hands over argv.
#include "cli/run.h"

int main(int argc, char** argv) {
  return cortex::cli::Run(argc, argv);
}
