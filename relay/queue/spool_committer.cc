// Batches spool writes onto the thread pool; see spool_committer.h.
#include "relay/queue/spool_committer.h"

#include "relay/queue/spool.h"

namespace tlsrelay {

struct SpoolCommitter::Batch {
  uv_work_t work;
  SpoolCommitter* owner;
  std::vector<Item> items;
};

SpoolCommitter::SpoolCommitter(uv_loop_t* loop, Spool* spool, size_t max_batch)
    : loop_(loop), spool_(spool), max_batch_(max_batch) {}

SpoolCommitter::~SpoolCommitter() = default;

void SpoolCommitter::store(std::shared_ptr<const Envelope> envelope, std::shared_ptr<const std::string> data,
                           StoreDone done) {
  waiting_.push_back(Item{false, std::move(envelope), std::move(data), std::move(done)});
  maybeStartBatch();
}

void SpoolCommitter::update(std::shared_ptr<const Envelope> envelope, StoreDone done) {
  waiting_.push_back(Item{true, std::move(envelope), nullptr, std::move(done)});
  maybeStartBatch();
}

void SpoolCommitter::maybeStartBatch() {
  // Two batches in flight: one fsyncing while the next is being written keeps
  // the disk busy without letting a batch grow into a latency spike.
  if (waiting_.empty() || in_flight_ >= max_in_flight_) return;
  auto* batch = new Batch;
  batch->work.data = batch;
  batch->owner = this;
  while (!waiting_.empty() && batch->items.size() < max_batch_) {
    batch->items.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  ++in_flight_;
  ++batches_;
  items_ += batch->items.size();
  uv_queue_work(
      loop_, &batch->work,
      [](uv_work_t* w) {
        auto* b = static_cast<Batch*>(w->data);
        Spool* spool = b->owner->spool_;
        std::vector<std::pair<const Envelope*, std::string_view>> stores;
        std::vector<size_t> store_index;
        std::vector<const Envelope*> updates;
        std::vector<size_t> update_index;
        for (size_t i = 0; i < b->items.size(); ++i) {
          auto& it = b->items[i];
          if (it.is_update) {
            updates.push_back(it.envelope.get());
            update_index.push_back(i);
          } else {
            stores.emplace_back(it.envelope.get(), std::string_view(*it.data));
            store_index.push_back(i);
          }
        }
        if (!stores.empty()) {
          auto results = spool->storeBatch(stores);
          for (size_t k = 0; k < results.size() && k < store_index.size(); ++k)
            b->items[store_index[k]].status = std::move(results[k]);
        }
        if (!updates.empty()) {
          auto results = spool->updateBatch(updates);
          for (size_t k = 0; k < results.size() && k < update_index.size(); ++k)
            b->items[update_index[k]].status = std::move(results[k]);
        }
      },
      [](uv_work_t* w, int) {
        std::unique_ptr<Batch> b(static_cast<Batch*>(w->data));
        SpoolCommitter* self = b->owner;
        --self->in_flight_;
        for (auto& it : b->items)
          if (it.done) it.done(it.status);
        self->maybeStartBatch();
      });
}

}  // namespace tlsrelay
