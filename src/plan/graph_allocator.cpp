#include "plan/graph_allocator.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace cortex {
namespace {

// Tensors larger than this are absurd (256 TiB); capping them keeps every offset the free list
// computes for even the largest graphs (about 2^14 tensors) below its tail block's size.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 48;

uint64_t AlignUp(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

// The free list of ggml's dynamic allocator: blocks sorted by offset; the last block is the
// unbounded tail of the buffer.
class FreeList {
 public:
  FreeList() { blocks_.push_back({0, kTail}); }

  uint64_t Allocate(uint64_t size) {
    // Best fit among all blocks but the tail.
    int best = -1;
    uint64_t best_size = UINT64_MAX;
    for (size_t i = 0; i + 1 < blocks_.size(); ++i) {
      if (blocks_[i].size >= size && blocks_[i].size <= best_size) {
        best = static_cast<int>(i);
        best_size = blocks_[i].size;
      }
    }
    if (best < 0) best = static_cast<int>(blocks_.size()) - 1;
    Block& block = blocks_[best];
    const uint64_t offset = block.offset;
    block.offset += size;
    block.size -= size;
    if (block.size == 0) blocks_.erase(blocks_.begin() + best);
    max_size_ = std::max(max_size_, offset + size);
    return offset;
  }

  void Free(uint64_t offset, uint64_t size) {
    for (size_t i = 0; i < blocks_.size(); ++i) {
      Block& block = blocks_[i];
      if (block.offset + block.size == offset) {
        block.size += size;
        if (i + 1 < blocks_.size() && block.offset + block.size == blocks_[i + 1].offset) {
          block.size += blocks_[i + 1].size;
          blocks_.erase(blocks_.begin() + static_cast<long>(i) + 1);
        }
        return;
      }
      if (offset + size == block.offset) {
        block.offset = offset;
        block.size += size;
        if (i > 0 && blocks_[i - 1].offset + blocks_[i - 1].size == block.offset) {
          blocks_[i - 1].size += block.size;
          blocks_.erase(blocks_.begin() + static_cast<long>(i));
        }
        return;
      }
    }
    auto it = std::find_if(blocks_.begin(), blocks_.end(),
                           [&](const Block& b) { return b.offset > offset; });
    blocks_.insert(it, Block{offset, size});
  }

  uint64_t max_size() const { return max_size_; }

 private:
  static constexpr uint64_t kTail = UINT64_MAX / 2;
  struct Block {
    uint64_t offset;
    uint64_t size;
  };
  std::vector<Block> blocks_;
  uint64_t max_size_ = 0;
};

struct State {
  int children = 0;
  int views = 0;
  bool allocated = false;  // holds memory that it must free
  bool placed = false;     // has an address (own or inherited)
  uint64_t offset = 0;
};

}  // namespace

ComputeGraph::Id ComputeGraph::Add(Tensor t) {
  tensors_.push_back(std::move(t));
  return static_cast<Id>(tensors_.size()) - 1;
}

ComputeGraph::Id ComputeGraph::AddExternal(std::string name) {
  Tensor t;
  t.name = std::move(name);
  t.kind = Tensor::Kind::kExternal;
  return Add(std::move(t));
}

ComputeGraph::Id ComputeGraph::AddInput(std::string name, uint64_t bytes) {
  Tensor t;
  t.name = std::move(name);
  t.bytes = bytes;
  t.kind = Tensor::Kind::kInput;
  return Add(std::move(t));
}

ComputeGraph::Id ComputeGraph::AddOp(std::string name, uint64_t bytes, std::vector<Id> sources,
                                     std::vector<Id> inplace_sources) {
  Tensor t;
  t.name = std::move(name);
  t.bytes = bytes;
  t.kind = Tensor::Kind::kOp;
  t.sources = std::move(sources);
  t.inplace_sources = std::move(inplace_sources);
  return Add(std::move(t));
}

ComputeGraph::Id ComputeGraph::AddView(std::string name, Id source) {
  Tensor t;
  t.name = std::move(name);
  t.kind = Tensor::Kind::kView;
  t.sources = {source};
  const Tensor& src = tensors_.at(static_cast<size_t>(source));
  t.view_source = src.kind == Tensor::Kind::kView ? src.view_source : source;
  return Add(std::move(t));
}

ComputeGraph::Id ComputeGraph::AddSink(std::string name, std::vector<Id> sources) {
  Tensor t;
  t.name = std::move(name);
  t.kind = Tensor::Kind::kSink;
  t.sources = std::move(sources);
  return Add(std::move(t));
}

void ComputeGraph::MarkOutput(Id id) {
  tensors_.at(static_cast<size_t>(id)).output = true;
}

uint64_t PlanGraphBuffer(const ComputeGraph& graph, uint64_t alignment) {
  using Kind = ComputeGraph::Tensor::Kind;
  const auto& tensors = graph.tensors();
  std::vector<State> state(tensors.size());
  FreeList free_list;
  bool absurd = false;
  auto size_of = [&](int id) {
    const uint64_t bytes = tensors[static_cast<size_t>(id)].bytes;
    if (bytes > kMaxTensorBytes) absurd = true;
    return AlignUp(std::min(bytes, kMaxTensorBytes), alignment);
  };

  auto owned = [&](int id) {
    const Kind k = tensors[static_cast<size_t>(id)].kind;
    return k == Kind::kInput || k == Kind::kOp;
  };
  auto allocate = [&](int id) {
    State& s = state[static_cast<size_t>(id)];
    if (s.placed || !owned(id)) return;
    s.placed = true;
    s.allocated = true;
    s.offset = free_list.Allocate(size_of(id));
  };
  auto release = [&](int id) {
    State& s = state[static_cast<size_t>(id)];
    if (tensors[static_cast<size_t>(id)].output || !s.allocated) return;
    s.allocated = false;
    free_list.Free(s.offset, size_of(id));
  };

  // Inputs are leaves of the graph: ggml places all of them first, in the order the graph
  // discovers them, including inputs no node reads (those stay allocated throughout).
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].kind == Kind::kInput) allocate(static_cast<int>(i));
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (t.kind == Kind::kView && owned(t.view_source))
      ++state[static_cast<size_t>(t.view_source)].views;
    for (int src : t.sources)
      ++state[static_cast<size_t>(src)].children;
  }

  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (t.kind == Kind::kOp) {
      bool reused = false;
      // ggml only reuses a source it allocated itself; a view never qualifies (its memory
      // belongs to its source), so ops on reshaped tensors always get fresh memory.
      for (int src : t.inplace_sources) {
        const auto& p = tensors[static_cast<size_t>(src)];
        State& ps = state[static_cast<size_t>(src)];
        if (p.kind == Kind::kView || !ps.allocated || p.output) continue;
        if (ps.children != 1 || ps.views != 0) continue;
        ps.allocated = false;
        state[i].placed = state[i].allocated = true;
        state[i].offset = ps.offset;
        reused = true;
        break;
      }
      if (!reused) allocate(static_cast<int>(i));
    }
    for (int src : t.sources) {
      State& ps = state[static_cast<size_t>(src)];
      --ps.children;
      if (ps.children != 0 || ps.views != 0) continue;
      const auto& p = tensors[static_cast<size_t>(src)];
      if (p.kind == Kind::kView) {
        const int vs = p.view_source;
        if (!owned(vs)) continue;
        State& vss = state[static_cast<size_t>(vs)];
        --vss.views;
        if (vss.views == 0 && vss.children == 0) release(vs);
      } else {
        release(src);
      }
    }
  }
  return absurd ? UINT64_MAX : free_list.max_size();
}

}  // namespace cortex
