"""One sh_test per .mlir file: its RUN lines, uintx-opt piped into FileCheck."""

def filecheck_tests(srcs):
    for src in srcs:
        native.sh_test(
            name = src[:-len(".mlir")],
            srcs = ["run_filecheck.sh"],
            args = [
                "$(location //codegen:uintx-opt)",
                "$(location @llvm//:filecheck)",
                "$(location %s)" % src,
            ],
            data = ["//codegen:uintx-opt", "@llvm//:filecheck", src],
        )
