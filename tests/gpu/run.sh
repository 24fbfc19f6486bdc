#!/usr/bin/env bash
# The CUDA backend on a GPU machine, in one go (meant to finish in under 8 minutes on an H200):
#   1. configure with CUDA for sm_90 and build the GPU tests and benchmarks,
#   2. run the GPU tests (ctest -L gpu, plus the decoder unit test),
#   3. write random llama models of 1.1B and 7B shape in F16 and Q4_K_M (agentrt-random-model,
#      all cores, outside the repository: $AGENTRT_GPU_MODELS, default /tmp/agentrt-gpu-models),
#   4. benchmark decode and prefill (agentrt-cuda-bench: tokens/s, % of the measured copy
#      bandwidth, TFLOP/s and % of the measured cuBLAS BF16 peak),
#   5. the same shapes through PyTorch eager (tests/gpu/torch_bench.py; "skipped" without it).
# Exit status: that of the GPU tests (benchmarks report, they do not fail the script).
# Offline machines without the build's -dev packages: run tests/gpu/fetch-deps.sh where the
# archive is reachable and carry .deps; this script unpacks it into a private prefix.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${AGENTRT_GPU_BUILD_DIR:-build-gpu}
models=${AGENTRT_GPU_MODELS:-/tmp/agentrt-gpu-models}
start=$SECONDS
step() { printf '\n== %s  [%ds]\n' "$*" $((SECONDS - start)); }

step "environment"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
nvcc --version | tail -1; cmake --version | head -1; ninja --version
if ! pkg-config --exists sentencepiece 2>/dev/null && ls .deps/*.deb >/dev/null 2>&1; then
  prefix=/tmp/agentrt-deps
  echo "unpacking $(ls .deps/*.deb | wc -l) carried packages into $prefix"
  for f in .deps/*.deb; do dpkg -x "$f" "$prefix"; done
  lib=$prefix/usr/lib/x86_64-linux-gnu
  export PATH=$prefix/usr/bin:$PATH
  export PKG_CONFIG_PATH=$lib/pkgconfig:$prefix/usr/share/pkgconfig:${PKG_CONFIG_PATH:-}
  export PKG_CONFIG_SYSROOT_DIR=$prefix
  export CMAKE_PREFIX_PATH=$prefix/usr:${CMAKE_PREFIX_PATH:-}
  export CPATH=$prefix/usr/include:${CPATH:-}
  export LIBRARY_PATH=$lib:${LIBRARY_PATH:-}
  export LD_LIBRARY_PATH=$lib:${LD_LIBRARY_PATH:-}
  # The packages' .so links point at absolute paths; make them relative to the prefix.
  for l in "$lib"/*.so; do
    [ -L "$l" ] && ln -sf "$(basename "$(readlink "$l")")" "$l"
  done
fi

step "configure (CUDA, sm_90)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAGENTRT_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 >"$build.configure.log" 2>&1 ||
  { tail -30 "$build.configure.log"; echo "configure failed"; exit 1; }

step "build"
cmake --build "$build" -j "$(nproc)" --target test_cuda_ops test_cuda_model test_quant_units \
  agentrt-random-model agentrt-cuda-bench 2>&1 | grep -E "error|warning|FAILED" | head -40
[ -x "$build/bench/agentrt-cuda-bench" ] || { echo "build failed"; exit 1; }

step "GPU tests"
ctest --test-dir "$build" -L gpu --output-on-failure -j 4 --timeout 300 2>&1 | tail -40
tests_rc=${PIPESTATUS[0]}
ctest --test-dir "$build" -R QuantUnits --output-on-failure 2>&1 | tail -3

step "random models in $models"
mkdir -p "$models"
gen() {  # name preset type
  [ -s "$models/$1.gguf" ] && return 0
  "$build/bench/agentrt-random-model" "$models/$1.gguf.part" --preset "$2" --type "$3" &&
    mv "$models/$1.gguf.part" "$models/$1.gguf"
}
gen llama-1.1b-f16 1.1b f16
gen llama-1.1b-q4_k_m 1.1b q4_k_m
gen llama-7b-f16 7b f16
gen llama-7b-q4_k_m 7b q4_k_m
ls -la "$models"

step "agentrt CUDA benchmarks (decode 128 tokens at batch 1, prefill 512)"
timeout 240 "$build/bench/agentrt-cuda-bench" --prompt 512 --gen 128 --reps 3 \
  "$models"/llama-1.1b-f16.gguf "$models"/llama-1.1b-q4_k_m.gguf \
  "$models"/llama-7b-f16.gguf "$models"/llama-7b-q4_k_m.gguf

step "PyTorch eager (transformers LlamaForCausalLM, bf16, generate)"
timeout 150 python3 tests/gpu/torch_bench.py --prompt 512 --gen 128 1.1b 7b ||
  echo "| pytorch | skipped: exited with $? |"

step "done: GPU tests exit status $tests_rc"
exit "$tests_rc"
