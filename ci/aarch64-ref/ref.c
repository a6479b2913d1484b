// Reference outputs of llama.cpp's aarch64 build (see ci/aarch64-oracle.sh).
//
// Usage: ref MODEL.gguf [N_STEPS [N_LOGIT_STEPS [N_THREADS]]] < prompts
//   prompts: one case per line, "ID TOKEN TOKEN ..." (ids of the x86 reference's prompt_ids).
// For each case, with the settings of testdata/reference (n_ctx = n_batch = n_ubatch = 512,
// f16 KV cache, flash attention off, the CPU backend's default weight repacking): the whole
// prompt in one llama_decode, then greedy (argmax, lowest id on ties) one token per
// llama_decode for N_STEPS (default 32) steps or through an end-of-generation token.
// Output, one line each:
//   case ID N_PROMPT
//   step K TOKEN FNV L2 TOP...   (K < N_LOGIT_STEPS, default 15: logits before token K)
//   ids TOKEN...                 (the greedy ids)
// FNV: 64-bit FNV-1a over the little-endian bytes of every logit (the whole vector, exactly);
// L2: sqrt(sum of squares) in double; TOP: 20 "id:logit" pairs (%.9g), largest first, lower
// id first on ties.
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

#define MAX_PROMPT 512
#define TOP_K 20

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level >= GGML_LOG_LEVEL_WARN) {
        fputs(text, stderr);
    }
}

static uint64_t fnv1a(const float *x, int n) {
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < (size_t)n * sizeof(float); i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) {
        if (x[i] > x[best]) {
            best = i;
        }
    }
    return best;
}

static void print_step(int k, int token, const float *x, int n) {
    double l2 = 0;
    for (int i = 0; i < n; i++) {
        l2 += (double)x[i] * x[i];
    }
    printf("step %d %d %016" PRIx64 " %.17g", k, token, fnv1a(x, n), sqrt(l2));
    // top-k by repeated selection: largest first, lower id first on ties
    int top[TOP_K];
    for (int j = 0; j < TOP_K && j < n; j++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            int taken = 0;
            for (int p = 0; p < j; p++) {
                taken |= top[p] == i;
            }
            if (!taken && (best < 0 || x[i] > x[best])) {
                best = i;
            }
        }
        top[j] = best;
        printf(" %d:%.9g", best, x[best]);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf [N_STEPS [N_LOGIT_STEPS [N_THREADS]]] < prompts\n",
                argv[0]);
        return 2;
    }
    int n_steps = argc > 2 ? atoi(argv[2]) : 32;
    int n_logit_steps = argc > 3 ? atoi(argv[3]) : 15;
    int n_threads = argc > 4 ? atoi(argv[4]) : 1;

    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);

    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        char id[128];
        int off = 0;
        if (sscanf(line, "%127s%n", id, &off) != 1) {
            continue;
        }
        llama_token prompt[MAX_PROMPT];
        int n_prompt = 0, tok, used;
        char *p = line + off;
        while (n_prompt < MAX_PROMPT && sscanf(p, "%d%n", &tok, &used) == 1) {
            prompt[n_prompt++] = tok;
            p += used;
        }
        struct llama_context_params cp = llama_context_default_params();
        cp.n_ctx = 512;
        cp.n_batch = 512;
        cp.n_ubatch = 512;
        cp.n_seq_max = 1;
        cp.n_threads = n_threads;
        cp.n_threads_batch = n_threads;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
        struct llama_context *ctx = llama_init_from_model(model, cp);
        if (!ctx) {
            fprintf(stderr, "cannot create a context\n");
            return 1;
        }
        printf("case %s %d\n", id, n_prompt);
        int ids[1024], n_ids = 0;
        int rc = llama_decode(ctx, llama_batch_get_one(prompt, n_prompt));
        for (int k = 0; rc == 0 && k < n_steps; k++) {
            const float *logits = llama_get_logits_ith(ctx, -1);
            llama_token next = argmax(logits, n_vocab);
            if (k < n_logit_steps) {
                print_step(k, next, logits, n_vocab);
            }
            ids[n_ids++] = next;
            if (llama_vocab_is_eog(vocab, next) || k + 1 == n_steps) {
                break;
            }
            rc = llama_decode(ctx, llama_batch_get_one(&next, 1));
        }
        if (rc != 0) {
            fprintf(stderr, "llama_decode returned %d\n", rc);
            return 1;
        }
        printf("ids");
        for (int i = 0; i < n_ids; i++) {
            printf(" %d", ids[i]);
        }
        printf("\n");
        fflush(stdout);
        llama_free(ctx);
    }
    llama_model_free(model);
    return 0;
}
