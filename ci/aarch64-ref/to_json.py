#!/usr/bin/env python3
"""Helpers of ci/aarch64-oracle.sh.

prompts GREEDY_JSON            print "ID TOKEN..." per case of an x86 reference greedy.json
json MODEL VARIANT MARCH CPU OUT  turn ref.c's output into testdata/reference-aarch64 JSON
"""
import json
import sys


def prompts(path):
    with open(path, encoding="utf-8") as f:
        ref = json.load(f)
    for case in ref["cases"]:
        print(case["id"], *case["prompt_ids"])


def to_json(model, variant, march, cpu, out):
    with open(f"testdata/reference/{model}/greedy.json", encoding="utf-8") as f:
        x86 = {c["id"]: c for c in json.load(f)["cases"]}
    cases = []
    with open(out, encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "case":
                case = {"id": w[1], "prompt_ids": x86[w[1]]["prompt_ids"], "steps": []}
                assert int(w[2]) == len(case["prompt_ids"])
                cases.append(case)
            elif w[0] == "step":
                top = [[int(t.split(":")[0]), float(t.split(":")[1])] for t in w[5:]]
                case["steps"].append(
                    {
                        "step": int(w[1]),
                        "greedy_token": int(w[2]),
                        "fnv1a64": w[3],
                        "l2_norm": float(w[4]),
                        "top": top,
                    }
                )
            elif w[0] == "ids":
                case["output_ids"] = [int(t) for t in w[1:]]
                case["equals_x86_output_ids"] = case["output_ids"] == x86[case["id"]]["output_ids"]
    doc = {
        "model_id": model,
        "model_file": f"{model}.gguf",
        "llama_cpp": {
            "source": "the llama.cpp tree vendored by the llama-cpp-sys-2 0.1.161 crate (the x86 oracle's)",
            "build": f"CMake Release, aarch64-linux-gnu-gcc 12, GGML_NATIVE=OFF, GGML_CPU_ARM_ARCH={march}, "
            "static, no OpenMP, CPU backend only",
            "variant": variant,
            "run": f"qemu-aarch64 -cpu {cpu}, 1 thread, ci/aarch64-ref/ref.c",
            "regenerate": f"bash ci/aarch64-oracle.sh all {variant}",
        },
        "settings": {
            "n_ctx": 512,
            "n_batch": 512,
            "n_ubatch": 512,
            "n_threads": 1,
            "flash_attn": "disabled",
            "kv_cache_type": "f16",
            "prompt_decode": "whole prompt in one llama_decode, then one token per llama_decode",
            "sampling": "greedy argmax, lowest id on ties",
            "n_predict": 32,
            "n_logit_steps": 15,
        },
        "step_semantics": "step k: logits before output token k (step 0 = last prompt position)",
        "fnv1a64": "64-bit FNV-1a over the little-endian f32 bytes of the whole logit vector",
        "cases": cases,
    }
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    if sys.argv[1] == "prompts":
        prompts(sys.argv[2])
    elif sys.argv[1] == "json":
        to_json(*sys.argv[2:7])
    else:
        sys.exit(__doc__)
