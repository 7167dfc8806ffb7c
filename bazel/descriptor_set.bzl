"""proto_descriptor_set: one FileDescriptorSet (with imports and comments) from proto_libraries."""

def _import_path(src):
    # The path a proto is imported by: relative to its repository's root.
    path = src.short_path
    if path.startswith("../"):
        path = path.split("/", 2)[2]
    return path

def _proto_descriptor_set_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".pb")
    sources = []
    paths = []
    for dep in ctx.attr.deps:
        info = dep[ProtoInfo]
        sources.append(info.transitive_sources)
        paths.append(info.transitive_proto_path)
    direct = []
    for dep in ctx.attr.deps:
        direct.extend([_import_path(s) for s in dep[ProtoInfo].direct_sources])
    args = ctx.actions.args()
    args.add("--include_imports")
    args.add("--include_source_info")
    args.add("--descriptor_set_out=" + out.path)
    args.add("-I.")
    args.add_all(depset(transitive = paths), format_each = "-I%s")
    args.add_all(direct)
    ctx.actions.run(
        inputs = depset(transitive = sources),
        outputs = [out],
        executable = ctx.executable._protoc,
        arguments = [args],
        mnemonic = "ProtoDescriptorSet",
        progress_message = "Descriptor set %s" % ctx.label,
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

proto_descriptor_set = rule(
    implementation = _proto_descriptor_set_impl,
    doc = "Runs the system protoc with --include_imports --include_source_info over `deps`.",
    attrs = {
        "deps": attr.label_list(mandatory = True, providers = [ProtoInfo]),
        "_protoc": attr.label(default = "//bazel:protoc", executable = True, cfg = "exec"),
    },
)
