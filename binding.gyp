{
  "targets": [
    {
      "target_name": "likeness_native_avx2",
      "type": "static_library",
      "sources": ["src/native/fbank_avx2.cc", "src/native/search_avx2.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx2", "-mfma", "-fPIC", "-Wno-psabi"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-mavx2", "-mfma"] },
      "conditions": [
        ["target_arch!='x64' and target_arch!='ia32'", { "sources!": ["src/native/fbank_avx2.cc", "src/native/search_avx2.cc"] }]
      ]
    },
    {
      "target_name": "likeness_native_avx2_exact",
      "type": "static_library",
      "sources": ["src/native/crops_avx2.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx2", "-ffp-contract=off", "-fPIC", "-Wno-psabi"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-mavx2", "-ffp-contract=off"] },
      "conditions": [
        ["target_arch!='x64' and target_arch!='ia32'", { "sources!": ["src/native/crops_avx2.cc"], "sources": ["src/native/no_avx2.cc"] }]
      ]
    },
    {
      "target_name": "likeness_native",
      "dependencies": ["likeness_native_avx2", "likeness_native_avx2_exact"],
      "sources": [
        "src/native/addon.cc",
        "src/native/fbank.cc",
        "src/native/crops.cc",
        "src/native/detect.cc",
        "src/native/search.cc",
        "src/native/resample.cc"
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
