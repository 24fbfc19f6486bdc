#include "agentrt/tools/dispatcher.h"

#include <stdexcept>

namespace agentrt::tools {

struct Dispatcher::Pool {};
struct Dispatcher::Pending {};

DispatcherOptions DispatcherOptions::from_config(const Config&) {
  return {};
}
Dispatcher::Dispatcher(const Registry& registry, DispatcherOptions options)
    : registry_(registry), options_(options) {}
Dispatcher::~Dispatcher() = default;
ToolResult Dispatcher::call(const std::string&, const nlohmann::json&, const CallOptions&) {
  throw std::logic_error("Dispatcher::call: work in progress");
}
std::vector<ToolResult> Dispatcher::call_many(const std::vector<CallRequest>&, const CallOptions&) {
  throw std::logic_error("Dispatcher::call_many: work in progress");
}
void Dispatcher::cancel_all() {}
std::size_t Dispatcher::worker_count() const {
  return 0;
}

}  // namespace agentrt::tools
