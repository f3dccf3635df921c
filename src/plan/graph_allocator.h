// GraphAllocator: how big llama.cpp's compute ("scratch") buffer gets for a graph.
//
// llama.cpp does not size its compute buffer from a formula. Before serving, it builds the graph
// of one worst-case micro-batch and lets ggml's graph allocator (ggml/src/ggml-alloc.c) plan an
// address for every intermediate tensor; the buffer is the highest address reached. The planner
// follows the same steps on a description of the same graph, so the number it predicts comes out
// of the same process rather than from a fitted curve:
//
//   - Graph inputs (token ids, positions, cache indices, the attention mask, output ids) are
//     placed first, in the order they were added (llama.cpp's order of discovery). An input
//     nothing reads stays allocated: llama.cpp's unused embeddings input costs n_embd*n_tokens*4.
//   - Nodes are placed in graph order. An op that may work in place (norms, element-wise ops,
//     rope, softmax) reuses its first source's memory when that source has no other consumer
//     left, is not viewed by anything else and is not itself a view.
//   - Otherwise the node takes the best-fitting free block (the smallest that fits, ignoring the
//     block at the end); failing that, the block at the end, which grows the buffer.
//   - A tensor is freed when its last consumer has been placed; a view keeps its source alive.
//   - Sizes are rounded up to the buffer's alignment (32 bytes for the CPU backend).
//
// Tensors not owned by the graph (weights, the KV cache) are "external" and take no space here.
//
// Pure: no I/O. Not thread-safe; build and plan on one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cortex {

class ComputeGraph {
 public:
  using Id = int;

  // A tensor owned elsewhere (weights, KV cache). Never allocated.
  Id AddExternal(std::string name);
  // A graph input of `bytes` bytes, filled by llama.cpp before each run. Add inputs in the order
  // llama.cpp's graph discovers them.
  Id AddInput(std::string name, uint64_t bytes);
  // A computed tensor. `inplace` says the op may overwrite its first compatible source
  // (`inplace_sources` lists which sources have the same shape and type as the result).
  Id AddOp(std::string name, uint64_t bytes, std::vector<Id> sources,
           std::vector<Id> inplace_sources = {});
  // A view (reshape, permute, view, transpose) of `source`; takes no memory of its own.
  Id AddView(std::string name, Id source);
  // A tensor that takes no memory here but reads `sources` (writes into an external tensor, as
  // llama.cpp's set_rows does into the KV cache).
  Id AddSink(std::string name, std::vector<Id> sources);
  // Marks a result llama.cpp reads back (logits): never freed.
  void MarkOutput(Id id);

  struct Tensor {
    std::string name;
    uint64_t bytes = 0;
    enum class Kind { kExternal, kInput, kOp, kView, kSink } kind = Kind::kOp;
    std::vector<Id> sources;
    std::vector<Id> inplace_sources;
    Id view_source = -1;  // the tensor that owns a view's memory (resolved through views)
    bool output = false;
  };
  const std::vector<Tensor>& tensors() const { return tensors_; }

 private:
  Id Add(Tensor t);
  std::vector<Tensor> tensors_;
};

// Returns the buffer size ggml's allocator reaches for `graph`, with every size rounded up to
// `alignment` (a power of two); UINT64_MAX when a tensor is absurdly large (over 256 TiB).
uint64_t PlanGraphBuffer(const ComputeGraph& graph, uint64_t alignment);

}  // namespace cortex
