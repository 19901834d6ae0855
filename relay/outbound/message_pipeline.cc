// Message stage runner; see message_pipeline.h.
#include "relay/outbound/message_pipeline.h"

#include <algorithm>
#include <set>

#include "common/log.h"

namespace tlsrelay {

struct MessagePipeline::Run {
  JobMessage message;
  StageHop hop;
  std::function<void(PreparedMessage)> done;
  size_t stage = 0;
  size_t group = 0;                     // next group of `groups` to run `stage` over
  std::vector<StageGroup> groups;       // input of `stage`
  std::vector<StageGroup> next_groups;  // its output so far
  std::vector<StageRefusal> refused;
  bool went_async = false;
};

MessagePipeline::MessagePipeline(uv_loop_t* loop, std::vector<std::shared_ptr<MessageStage>> stages)
    : loop_(loop), stages_(std::move(stages)), alive_(std::make_shared<bool>(true)) {}

MessagePipeline::~MessagePipeline() {
  *alive_ = false;  // work still on the thread pool finds no pipeline to report to
}

void MessagePipeline::forget(const std::string& queue_id) {
  if (cache_.empty()) return;
  auto it = cache_.lower_bound(CacheKey{queue_id, 0, nullptr, {}});
  while (it != cache_.end() && it->first.queue_id == queue_id) it = cache_.erase(it);
}

std::optional<MessagePipeline::CacheKey> MessagePipeline::keyFor(const Run& run, size_t stage,
                                                                 const StageGroup& group) const {
  switch (stages_[stage]->scope()) {
    case MessageStage::Scope::Hop:
      return std::nullopt;
    case MessageStage::Scope::Content:
      return CacheKey{run.message.envelope->queue_id, stage, group.data.get(), {}};
    case MessageStage::Scope::Recipients: {
      std::vector<size_t> sorted = group.recipients;
      std::sort(sorted.begin(), sorted.end());
      return CacheKey{run.message.envelope->queue_id, stage, group.data.get(), std::move(sorted)};
    }
  }
  return std::nullopt;
}

namespace {

// A stage must account for every recipient it was given exactly once; one
// that loses or duplicates recipients is a bug, contained here: the lost ones
// are deferred with a local error, duplicates dropped, so no recipient is
// silently delivered twice or never.
void checkResult(const MessageStage& stage, const StageInput& in, StageResult& r) {
  std::set<size_t> expected(in.recipients.begin(), in.recipients.end());
  std::set<size_t> seen;
  auto claim = [&](size_t i) { return expected.count(i) != 0 && seen.insert(i).second; };
  for (auto& g : r.groups) {
    std::vector<size_t> kept;
    for (size_t i : g.recipients)
      if (claim(i)) kept.push_back(i);
    g.recipients = std::move(kept);
    if (!g.data) g.data = in.data;
  }
  std::vector<StageRefusal> refused;
  for (auto& f : r.refused)
    if (claim(f.recipient)) refused.push_back(std::move(f));
  r.refused = std::move(refused);
  for (size_t i : expected) {
    if (seen.count(i)) continue;
    log::error("pipeline", "stage lost a recipient; deferring it",
               {{"stage", stage.name()}, {"id", in.envelope->queue_id}});
    r.refused.push_back({i, status::kLocalError, std::string("message stage ") + stage.name() + " failed"});
  }
}

// A Content-scope result can be reused for other recipients only when it is
// a transformation of the bytes alone; a stage that split or refused
// recipients depended on them after all, and its result is not kept.
bool bytesOnly(const StageResult& r) {
  return r.groups.size() == 1 && r.refused.empty();
}

}  // namespace

std::optional<PreparedMessage> MessagePipeline::run(const JobMessage& message, const JobTarget& hop,
                                                    std::function<void(PreparedMessage)> done) {
  if (stages_.empty()) {
    PreparedMessage p;
    p.bodies.push_back({message.recipients, message.data});
    return p;
  }
  auto r = std::make_shared<Run>();
  r->message = message;
  r->hop = StageHop{hop.mx_host, hop.ip, hop.port};
  r->done = std::move(done);
  r->groups.push_back({message.recipients, message.data});
  if (!advance(r)) return std::nullopt;
  return finish(*r);
}

PreparedMessage MessagePipeline::finish(Run& run) const {
  PreparedMessage p;
  for (auto& g : run.groups)
    if (!g.recipients.empty()) p.bodies.push_back({std::move(g.recipients), std::move(g.data)});
  for (auto& f : run.refused) {
    RecipientOutcome o = f.status.isPermanent() ? permanentFailure(f.reason, f.status, FailureCause::Local)
                                                : transientFailure(f.reason, f.status, FailureCause::Local);
    p.refused.push_back({f.recipient, std::move(o)});
  }
  return p;
}

bool MessagePipeline::advance(const std::shared_ptr<Run>& r) {
  while (r->stage < stages_.size()) {
    MessageStage& stage = *stages_[r->stage];
    while (r->group < r->groups.size()) {
      const StageGroup& g = r->groups[r->group];
      auto key = keyFor(*r, r->stage, g);
      if (key) {
        auto hit = cache_.find(*key);
        if (hit != cache_.end()) {
          ++reused_;
          if (stage.scope() == MessageStage::Scope::Content) {
            // Only the bytes were kept: they go to this group's recipients,
            // who may be another destination's than the first run's.
            r->next_groups.push_back({g.recipients, hit->second.result.groups.front().data});
          } else {
            for (const auto& out : hit->second.result.groups) r->next_groups.push_back(out);
            for (const auto& f : hit->second.result.refused) r->refused.push_back(f);
          }
          ++r->group;
          continue;
        }
      }
      auto in = std::make_shared<StageInput>();
      in->envelope = r->message.envelope.get();
      in->recipients = g.recipients;
      in->data = g.data;
      in->hop = stage.scope() == MessageStage::Scope::Hop ? &r->hop : nullptr;
      ++stage_runs_;
      auto take = [this, r, key, in](StageResult result) {
        checkResult(*stages_[r->stage], *in, result);
        if (key && (stages_[r->stage]->scope() != MessageStage::Scope::Content || bytesOnly(result)))
          cache_[*key] = CacheEntry{in->data, result};
        for (auto& out : result.groups) r->next_groups.push_back(std::move(out));
        for (auto& f : result.refused) r->refused.push_back(std::move(f));
        ++r->group;
      };
      if (!stage.blocking()) {
        take(stage.process(*in));
        continue;
      }
      // Off the loop thread: the stage may sign, encrypt or look up keys.
      struct Work {
        uv_work_t req;
        std::shared_ptr<MessageStage> stage;
        std::shared_ptr<StageInput> in;
        StageResult result;
        std::function<void(StageResult)> take;
        std::shared_ptr<bool> alive;
        MessagePipeline* pipeline;
        std::shared_ptr<Run> run;
      };
      auto* w = new Work{{}, stages_[r->stage], in, {}, take, alive_, this, r};
      w->req.data = w;
      r->went_async = true;
      uv_queue_work(
          loop_, &w->req,
          [](uv_work_t* req) {
            auto* work = static_cast<Work*>(req->data);
            work->result = work->stage->process(*work->in);
          },
          [](uv_work_t* req, int) {
            std::unique_ptr<Work> work(static_cast<Work*>(req->data));
            if (!*work->alive) return;
            work->take(std::move(work->result));
            if (work->pipeline->advance(work->run)) {
              auto done = std::move(work->run->done);
              if (done) done(work->pipeline->finish(*work->run));
            }
          });
      return false;
    }
    r->groups = std::move(r->next_groups);
    r->next_groups.clear();
    r->group = 0;
    ++r->stage;
  }
  return true;
}

}  // namespace tlsrelay
