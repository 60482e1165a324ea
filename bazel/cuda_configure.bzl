# Finds the CUDA toolkit: $UINTX_CUDA_PATH, else $CUDA_PATH, else /usr/local/cuda.
# Only headers are used at build time; libcuda is dlopened at run time.
def _cuda_repo_impl(ctx):
    root = ctx.os.environ.get("UINTX_CUDA_PATH") or ctx.os.environ.get("CUDA_PATH") or "/usr/local/cuda"
    if not ctx.path(root + "/include/cuda.h").exists:
        fail("CUDA toolkit not found at %s (set UINTX_CUDA_PATH)" % root)
    ctx.symlink(root + "/include", "include")
    ctx.symlink(root + "/bin", "bin")
    ctx.file("BUILD", """
cc_library(
    name = "headers",
    hdrs = glob(["include/cuda.h", "include/cuda_bf16.h", "include/cublas*.h", "include/nccl.h", "include/driver_types.h", "include/library_types.h", "include/cuComplex.h", "include/vector_types.h", "include/host_defines.h", "include/crt/host_defines.h", "include/builtin_types.h", "include/cuda_fp16.h", "include/cuda_runtime_api.h", "include/driver_functions.h", "include/surface_types.h", "include/texture_types.h", "include/vector_functions.h", "include/cuda_device_runtime_api.h", "include/crt/*.h", "include/*.hpp", "include/crt/*.hpp"]),
    includes = ["include"],
    visibility = ["//visibility:public"],
)
filegroup(name = "ptxas", srcs = ["bin/ptxas"], visibility = ["//visibility:public"])
""")

cuda_repository = repository_rule(
    implementation = _cuda_repo_impl,
    environ = ["UINTX_CUDA_PATH", "CUDA_PATH"],
    local = True,
)
