/*
 * chat.c: stream an answer from a GGUF model through the bague C API.
 *
 *   chat [options] MODEL PROMPT
 *
 * Opens MODEL, prints its facts and the memory plan of the session (stderr), then streams
 * the model's answer to PROMPT on stdout. Thinking text (between <think> and </think>) goes
 * to stderr, so stdout holds the answer only. Greedy by default.
 *
 * Options:
 *   --chat            format PROMPT as a user message with the model's chat template
 *   -n N              most tokens to generate (default 64; 0 = until the end or a full context)
 *   -c N              context length (default 0: the model's, at most 4096)
 *   -t N              threads (default 0: every CPU)
 *   --temp T          temperature (default 0 = greedy); --seed S for the draws
 *   --ids             print the generated token ids on stderr: "ids: 1 2 3"
 *   --open-fd         open the model through a file descriptor (as from an APK)
 *   --open-buffer     read the file into memory and open the model from that buffer
 *   --cancel-after-ms N  cancel from another thread after N milliseconds
 *   -q                no model facts or memory plan
 *
 * Build: cc -std=c99 -I../../runtime/capi/include chat.c libbague.a -lpthread -ldl -lm
 * (see Makefile).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bague.h"

/* Prints the failing call, its status and bague's message; exits. */
static void fail(const char *what, bague_status st) {
    fprintf(stderr, "chat: %s: %s: %s\n", what, bague_status_name((int)st), bague_last_error());
    exit(1);
}

#define CHECK(call)                        \
    do {                                   \
        bague_status st_ = (call);         \
        if (st_ != BAGUE_OK) fail(#call, st_); \
    } while (0)

static double mib(uint64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

/* State shared with the callbacks. */
struct stream {
    int in_thinking; /* a thinking piece was printed last */
    uint32_t *ids;
    size_t n_ids, cap_ids;
};

static int on_piece(void *user_data, const char *text, size_t len, bague_piece_kind kind) {
    struct stream *s = user_data;
    if (kind == BAGUE_PIECE_THINKING) {
        if (!s->in_thinking) fputs("<think>", stderr);
        s->in_thinking = 1;
        fwrite(text, 1, len, stderr);
    } else {
        if (s->in_thinking) fputs("</think>\n", stderr);
        s->in_thinking = 0;
        fwrite(text, 1, len, stdout);
        fflush(stdout);
    }
    return 0; /* non-zero would stop the generation */
}

static int on_token(void *user_data, uint32_t token) {
    struct stream *s = user_data;
    if (s->n_ids == s->cap_ids) {
        size_t cap = s->cap_ids ? 2 * s->cap_ids : 64;
        uint32_t *p = realloc(s->ids, cap * sizeof *p);
        if (!p) return 1;
        s->ids = p;
        s->cap_ids = cap;
    }
    s->ids[s->n_ids++] = token;
    return 0;
}

struct canceller {
    const bague_session *session;
    long ms;
};

static void *cancel_later(void *arg) {
    struct canceller *c = arg;
    struct timespec ts = {c->ms / 1000, (c->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    bague_cancel(c->session); /* thread-safe; stops within one layer */
    return NULL;
}

static const char *stop_name(bague_stop_reason r) {
    switch (r) {
    case BAGUE_STOP_EOG: return "eog";
    case BAGUE_STOP_MAX_TOKENS: return "max_tokens";
    case BAGUE_STOP_STOP_STRING: return "stop_string";
    case BAGUE_STOP_CANCELLED: return "cancelled";
    case BAGUE_STOP_CONTEXT_FULL: return "context_full";
    case BAGUE_STOP_ERROR: return "error";
    case BAGUE_STOP_NO_ALLOWED_TOKEN: return "no_allowed_token";
    }
    return "?";
}

/* Reads a whole file into a malloc'd buffer. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "chat: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0) {
        fprintf(stderr, "chat: %s: cannot size the file\n", path);
        exit(1);
    }
    uint8_t *buf = malloc((size_t)st.st_size);
    if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        fprintf(stderr, "chat: %s: cannot read the file\n", path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)st.st_size;
    return buf;
}

static void usage(void) {
    fputs("usage: chat [--chat] [-n N] [-c N] [-t N] [--temp T] [--seed S] [--ids]\n"
          "            [--open-fd | --open-buffer] [--cancel-after-ms N] [-q] MODEL PROMPT\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv) {
    int chat = 0, print_ids = 0, quiet = 0, open_fd = 0, open_buffer = 0;
    long n_predict = 64, n_ctx = 0, n_threads = 0, cancel_ms = -1;
    double temp = 0.0;
    unsigned long long seed = 0;
    const char *model_path = NULL, *prompt = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--chat")) chat = 1;
        else if (!strcmp(a, "--ids")) print_ids = 1;
        else if (!strcmp(a, "-q")) quiet = 1;
        else if (!strcmp(a, "--open-fd")) open_fd = 1;
        else if (!strcmp(a, "--open-buffer")) open_buffer = 1;
        else if (!strcmp(a, "-n") && more) n_predict = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "-c") && more) n_ctx = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "-t") && more) n_threads = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--temp") && more) temp = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--seed") && more) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--cancel-after-ms") && more) cancel_ms = strtol(argv[++i], NULL, 10);
        else if (a[0] == '-') usage();
        else if (!model_path) model_path = a;
        else if (!prompt) prompt = a;
        else usage();
    }
    if (!model_path || !prompt || n_predict < 0 || n_ctx < 0 || n_threads < 0) usage();

    /* 1. The model: mapped from the path, from an fd range, or from our own buffer. */
    bague_model *model = NULL;
    uint8_t *buffer = NULL;
    if (open_fd) {
        int fd = open(model_path, O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "chat: %s: %s\n", model_path, strerror(errno));
            return 1;
        }
        CHECK(bague_model_open_fd(fd, 0, 0, NULL, &model));
        close(fd); /* the mapping does not need it */
    } else if (open_buffer) {
        size_t len = 0;
        buffer = read_file(model_path, &len);
        /* `buffer` must outlive the model and its sessions: freed at the very end. */
        CHECK(bague_model_open_buffer(buffer, len, NULL, &model));
    } else {
        CHECK(bague_model_open_path(model_path, NULL, &model));
    }
    bague_model_info info;
    CHECK(bague_model_get_info(model, &info));

    /* 2. The memory plan, before anything is allocated. */
    bague_session_options so;
    CHECK(bague_session_options_default(&so));
    so.n_ctx = (uint32_t)n_ctx;
    so.n_threads = (uint32_t)n_threads;
    so.seed = seed;
    bague_memory_plan plan;
    CHECK(bague_model_plan_memory(model, &so, &plan));
    if (!quiet) {
        fprintf(stderr,
                "model: %s \"%s\", %.2f M params, %u layers, vocab %u, trained ctx %u, kernels %s\n",
                info.arch, info.name, (double)info.n_params / 1e6, info.n_layer, info.n_vocab,
                info.n_ctx_train, info.kernels);
        fprintf(stderr,
                "plan (ctx %u, %u threads): weights %.2f MiB mapped, KV %.2f MiB, scratch %.2f MiB, "
                "state %.2f MiB, heap %.2f MiB, total %.2f MiB\n",
                plan.n_ctx, plan.n_threads, mib(plan.weights_bytes), mib(plan.kv_bytes),
                mib(plan.scratch_bytes), mib(plan.state_bytes), mib(plan.heap_bytes),
                mib(plan.total_bytes));
    }
    bague_session *session = NULL;
    CHECK(bague_session_new(model, &so, &session));

    /* 3. The prompt: raw text, or one user message that bague_generate_chat renders with
     *    the model's template (the message stays text: it cannot forge a turn). To see the
     *    rendered text, call bague_chat_prompt. */
    bague_message msg = {BAGUE_ROLE_USER, prompt, strlen(prompt)};

    /* 4. Generate, streaming pieces. */
    bague_generate_params gp;
    CHECK(bague_generate_params_default(model, &gp));
    gp.max_tokens = (uint32_t)n_predict;
    gp.temperature = (float)temp;
    if (temp <= 0.0) { /* plain greedy: no penalties or filters */
        gp.top_k = 0;
        gp.top_p = 1.0f;
        gp.min_p = 0.0f;
        gp.repeat_penalty = 1.0f;
    }
    gp.on_token = on_token;
    struct stream s = {0, NULL, 0, 0};
    pthread_t watchdog;
    struct canceller c = {session, cancel_ms};
    if (cancel_ms >= 0 && pthread_create(&watchdog, NULL, cancel_later, &c) != 0) {
        fputs("chat: cannot start the cancel thread\n", stderr);
        return 1;
    }
    bague_generate_result res;
    bague_status st = chat ? bague_generate_chat(session, &msg, 1, &gp, on_piece, &s, &res)
                           : bague_generate(session, prompt, strlen(prompt), &gp, on_piece, &s, &res);
    if (cancel_ms >= 0) pthread_join(watchdog, NULL);
    if (s.in_thinking) fputs("</think>\n", stderr);
    printf("\n");
    if (st != BAGUE_OK) fail("bague_generate", st);
    fprintf(stderr, "stop: %s, prompt %u tokens (%u reused), generated %u\n",
            stop_name(res.stop_reason), res.n_prompt_tokens, res.n_reused_tokens,
            res.n_generated_tokens);
    if (print_ids) {
        fputs("ids:", stderr);
        for (size_t i = 0; i < s.n_ids; i++) fprintf(stderr, " %u", s.ids[i]);
        fputc('\n', stderr);
    }

    /* 5. Free in any order: the session keeps the model's data alive. */
    bague_model_free(model);
    bague_session_free(session);
    free(buffer);
    free(s.ids);
    return 0;
}
