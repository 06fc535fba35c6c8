{
  "targets": [
    {
      "target_name": "kotel_native",
      "sources": [
        "src/addon.cc",
        "src/common.cc",
        "src/bpf_object.cc",
        "src/btf_layout.cc",
        "src/hook_kind.cc",
        "src/knobs.cc",
        "src/ladder.cc",
        "src/map_io.cc",
        "src/open_object.cc",
        "src/open_options.cc",
        "src/prog_stats.cc",
        "src/rung.cc",
        "src/ring_buffer.cc",
        "src/elf_symbol.cc",
        "src/file_id.cc",
        "src/notify.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags": ["<!@(pkg-config --cflags libbpf libelf)"],
      "cflags_cc": ["-std=gnu++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["<!@(pkg-config --libs libbpf libelf)"]
    }
  ]
}
