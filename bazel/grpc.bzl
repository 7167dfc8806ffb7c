"""cc_grpc_library: C++ gRPC stubs from a proto_library, using the system grpc_cpp_plugin."""

def _import_path(src):
    # The path a proto is imported by: relative to its repository's root.
    path = src.short_path
    if path.startswith("../"):
        path = path.split("/", 2)[2]
    return path

def _grpc_stubs_impl(ctx):
    info = ctx.attr.proto[ProtoInfo]
    outs = []
    package = ctx.label.package
    for src in info.direct_sources:
        base = _import_path(src)[:-len(".proto")]
        if package:
            base = base[len(package) + 1:]
        outs.append(ctx.actions.declare_file(base + ".grpc.pb.h"))
        outs.append(ctx.actions.declare_file(base + ".grpc.pb.cc"))
    out_root = ctx.bin_dir.path
    if ctx.label.workspace_root:
        out_root += "/" + ctx.label.workspace_root
    args = ctx.actions.args()
    args.add("--plugin=protoc-gen-grpc=" + ctx.file._plugin.path)
    args.add("--grpc_out=" + out_root)
    args.add("-I.")
    args.add_all(info.transitive_proto_path, format_each = "-I%s")
    args.add_all([_import_path(s) for s in info.direct_sources])
    ctx.actions.run(
        inputs = depset([ctx.file._plugin], transitive = [info.transitive_sources]),
        outputs = outs,
        executable = ctx.executable._protoc,
        arguments = [args],
        mnemonic = "GrpcCppStubs",
        progress_message = "gRPC C++ stubs for %s" % ctx.label,
    )
    return [DefaultInfo(files = depset(outs))]

_grpc_stubs = rule(
    implementation = _grpc_stubs_impl,
    attrs = {
        "proto": attr.label(mandatory = True, providers = [ProtoInfo]),
        "_protoc": attr.label(default = "//bazel:protoc", executable = True, cfg = "exec"),
        "_plugin": attr.label(default = "//third_party:grpc_cpp_plugin", allow_single_file = True),
    },
)

def cc_grpc_library(name, proto, cc_proto, visibility = None, **kwargs):
    """C++ gRPC stubs for the services in `proto` (a proto_library of this package).

    Args:
      name: the cc_library to define.
      proto: the proto_library with the service definitions.
      cc_proto: the cc_proto_library of the same proto.
      visibility: visibility of the library.
      **kwargs: passed to cc_library.
    """
    _grpc_stubs(name = name + "_stubs", proto = proto)
    native.cc_library(
        name = name,
        srcs = [":" + name + "_stubs"],
        deps = [cc_proto, Label("//third_party:grpc")],
        visibility = visibility,
        **kwargs
    )
