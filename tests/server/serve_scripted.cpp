// A server over the scripted model on an ephemeral port, for client tests in other languages
// (tests/server/test_openai_client.py). Prints "PORT <n>" when it listens; stops on SIGTERM.
#include <cstdio>

#include "server_fixture.h"

int main() {
  using namespace agentrt::server;
  test::Fixture fixture;
  ServerOptions options;
  options.port = 0;
  options.handle_signals = true;
  Server server(fixture.api, options);
  std::printf("PORT %u\n", server.port());
  std::fflush(stdout);
  server.run();
  return 0;
}
