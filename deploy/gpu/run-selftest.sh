#!/usr/bin/env bash
# Runs `gppf gpu-selftest` on a GPU machine that has PyTorch (CUDA build) and no .NET.
#
#   deploy/gpu/run-selftest.sh gppf-gpu-linux-x64.tar.gz [OUT_DIR]
#
# The archive is the gpu-linux-x64 publish, packed with
#   dotnet publish hosts/GppfActors.Host.csproj -p:PublishProfile=gpu-linux-x64 -p:GppfTorch=system
#   tar -C hosts/bin/publish/gpu-linux-x64 -czf gppf-gpu-linux-x64.tar.gz .
# Steps: unpack; find PyTorch's libraries with python3; check that TorchSharp's wrapper binds
# against them (RTLD_NOW, from Python, before .NET starts); run the self-test; collect the report,
# the versions and nvidia-smi's view into OUT_DIR (default ./gpu-selftest-<host>-<time>).
# PYTHON names another interpreter (default python3); GPPF_TORCH_LIB skips the python3 look-up.
set -euo pipefail

archive=${1:?usage: $0 gppf-gpu-linux-x64.tar.gz [OUT_DIR]}
out=${2:-gpu-selftest-$(uname -n)-$(date -u +%Y%m%dT%H%M%SZ)}
python=${PYTHON:-python3}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== unpack $archive"
tar -xzf "$archive" -C "$work"
if [ ! -x "$work/gppf" ]; then
  echo "$archive holds no gppf program at its top level" >&2
  exit 2
fi
wrapper="$work/libLibTorchSharp.so"
if [ ! -f "$wrapper" ]; then
  echo "$archive holds no libLibTorchSharp.so beside gppf" >&2
  exit 2
fi
if ls "$work"/libtorch*.so "$work"/libc10*.so >/dev/null 2>&1; then
  echo "$archive ships its own LibTorch (libtorch*/libc10*): it is not the -p:GppfTorch=system publish" >&2
  exit 2
fi

echo "== PyTorch"
if [ -n "${GPPF_TORCH_LIB:-}" ]; then
  torch_lib=$GPPF_TORCH_LIB
else
  if ! torch_lib=$("$python" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>"$out/python-error.txt"); then
    echo "$python cannot import torch (see $out/python-error.txt); install PyTorch or set GPPF_TORCH_LIB" >&2
    exit 2
  fi
fi
"$python" - "$torch_lib" > "$out/versions.txt" 2>&1 <<'PY' || true
import sys
print("torch lib:", sys.argv[1])
try:
    import torch
    print("torch:", torch.__version__, "cuda:", torch.version.cuda, "available:", torch.cuda.is_available(),
          "devices:", torch.cuda.device_count())
    print("nccl:", ".".join(map(str, torch.cuda.nccl.version())) if torch.cuda.is_available() else "n/a")
except Exception as e:  # the report should still be written
    print("torch import failed:", e)
PY
cat "$out/versions.txt"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
else
  echo "nvidia-smi not found" > "$out/nvidia-smi.txt"
fi

echo "== binding: TorchSharp's wrapper against $torch_lib (RTLD_NOW)"
# Loaded after import torch (so its libraries are in the process), the wrapper must resolve every
# import at once; a LibTorch of another release fails here naming the missing symbol.
if ! "$python" - "$wrapper" > "$out/binding.txt" 2>&1 <<'PY'
import ctypes, os, sys
import torch  # brings libc10, libtorch_cpu, libtorch_cuda, libtorch into the process
ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | os.RTLD_GLOBAL)
print("bound:", sys.argv[1], "against torch", torch.__version__)
PY
then
  cat "$out/binding.txt" >&2
  echo "TorchSharp's wrapper does not bind against this PyTorch (TorchSharp 0.107 expects LibTorch 2.10); see $out/binding.txt" >&2
  exit 3
fi
cat "$out/binding.txt"

echo "== gppf gpu-selftest"
status=0
bench=$(cd "$(dirname "$0")/../.." && pwd)/bench/pytorch/step_time.py
bench_args=()
if [ -f "$bench" ]; then
  bench_args=(--pytorch-bench "$bench")
else
  echo "no $bench beside this script: the TorchSharp-vs-PyTorch ratio will not run" >&2
fi
PYTHON=$python "$work/gppf" gpu-selftest --torch-lib "$torch_lib" --out "$out" ${bench_args[@]+"${bench_args[@]}"} 2>&1 | tee "$out/selftest.log" || status=${PIPESTATUS[0]}
echo "== report in $out (exit $status)"
exit "$status"
