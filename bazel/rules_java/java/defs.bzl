# Offline stand-in for @rules_java: re-exports the native rules Bazel's own tools refer to.
java_import = native.java_import
java_runtime = native.java_runtime
java_toolchain = native.java_toolchain
java_library = native.java_library
java_binary = native.java_binary
