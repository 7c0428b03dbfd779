# The N-API addon over the system libbpf (libbpf-dev). Built by scripts/build-native.sh.
{
  "targets": [
    {
      "target_name": "skiff_bpf",
      "sources": ["skiff_bpf.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["<!@(pkg-config --libs libbpf)"]
    }
  ]
}
