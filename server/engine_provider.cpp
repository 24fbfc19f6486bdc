// The real engine behind the server: every slot is an engine::Session (its own KV cache) over one
// shared Model, with a sampler that each request re-seeds.
#include "agentrt/engine/session.h"
#include "agentrt/server/server.h"

namespace agentrt::server {
namespace {

class EngineSlot final : public ContextSlot {
 public:
  EngineSlot(std::shared_ptr<const engine::Model> model, const engine::SessionOptions& options,
             std::string description)
      : session_(std::move(model), options),
        sampler_(engine::SamplerParams{}),
        context_(session_, sampler_, std::move(description)) {}
  agent::ModelContext& context() override { return context_; }
  void set_sampling(const engine::SamplerParams& params) override {
    sampler_ = engine::Sampler(params);
  }

 private:
  engine::Session session_;
  engine::Sampler sampler_;
  agent::EngineContext context_;  // borrows the two above
};

class EngineProvider final : public ModelProvider {
 public:
  EngineProvider(std::shared_ptr<const engine::Model> model, const std::filesystem::path& path,
                 const EngineProviderOptions& options)
      : model_(std::move(model)),
        file_name_(path.filename().string()),
        id_(options.model_id.empty() ? path.stem().string() : options.model_id),
        session_options_(options.session) {
    const auto choice = agent::choose_dialect(
        options.dialect, model_->chat_dialect(),
        model_->file().get_string("tokenizer.chat_template", ""), model_->hparams().arch);
    dialect_ = agent::dialect_by_name(choice.name);
    const std::string prompt =
        options.tool_prompt.empty() ? model_->chat_tool_prompt() : options.tool_prompt;
    if (!prompt.empty()) tool_prompt_ = agent::tool_prompt_from_name(prompt);
  }
  std::string model_id() const override { return id_; }
  const agent::Dialect& dialect() const override { return *dialect_; }
  agent::ToolPrompt tool_prompt() const override { return tool_prompt_; }
  std::unique_ptr<ContextSlot> make_slot() override {
    return std::make_unique<EngineSlot>(model_, session_options_, file_name_);
  }

 private:
  std::shared_ptr<const engine::Model> model_;
  std::string file_name_;
  std::string id_;
  engine::SessionOptions session_options_;
  std::unique_ptr<agent::Dialect> dialect_;
  agent::ToolPrompt tool_prompt_ = agent::ToolPrompt::full;
};

}  // namespace

std::unique_ptr<ModelProvider> make_engine_provider(std::shared_ptr<const engine::Model> model,
                                                    const std::filesystem::path& model_path,
                                                    const EngineProviderOptions& options) {
  return std::make_unique<EngineProvider>(std::move(model), model_path, options);
}

}  // namespace agentrt::server
