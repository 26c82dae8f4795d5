{
  "targets": [
    {
      "target_name": "likeness_native_avx2",
      "type": "static_library",
      "sources": ["src/kernels/cc/fbank_avx2.cc", "src/kernels/cc/search_avx2.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx2", "-mfma", "-fPIC", "-Wno-psabi"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-mavx2", "-mfma"] },
      "conditions": [
        ["target_arch!='x64' and target_arch!='ia32'", { "sources!": ["src/kernels/cc/fbank_avx2.cc", "src/kernels/cc/search_avx2.cc"] }]
      ]
    },
    {
      "target_name": "likeness_native_avx2_exact",
      "type": "static_library",
      "sources": ["src/kernels/cc/crops_avx2.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx2", "-ffp-contract=off", "-fPIC", "-Wno-psabi"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-mavx2", "-ffp-contract=off"] },
      "conditions": [
        ["target_arch!='x64' and target_arch!='ia32'", { "sources!": ["src/kernels/cc/crops_avx2.cc"], "sources": ["src/kernels/cc/no_avx2.cc"] }]
      ]
    },
    {
      "target_name": "likeness_native",
      "dependencies": ["likeness_native_avx2", "likeness_native_avx2_exact"],
      "sources": [
        "src/kernels/cc/addon.cc",
        "src/kernels/cc/fbank.cc",
        "src/kernels/cc/crops.cc",
        "src/kernels/cc/detect.cc",
        "src/kernels/cc/search.cc",
        "src/kernels/cc/resample.cc",
        "src/kernels/cc/postings.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-Wno-psabi"],
      "conditions": [["OS=='linux'", { "libraries": ["-lpthread"] }]],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-ffp-contract=off"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}
