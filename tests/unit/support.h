/*
 * support.h — helpers shared by the unit tests: turning short stack
 * strings into pprof frames, profiles and analysis snapshots, and the
 * world of captures the analysis tests judge (support_analysis.c);
 * parsing recorded pprof inputs and checking refusals (support_pprof.c);
 * scratch directories for tests that write files (support_tmpdir.c);
 * loading recorded Kubernetes objects (support_kube.c); running a test
 * over every recorded behaviour (support_fixtures.c); the WebSocket frame
 * header a test server writes (support_ws.c). Linked into every
 * unit test binary (tests/unit/ files not named test_*). Not a fixture
 * library: each test still states its own goroutines and file contents.
 */
#ifndef LW_TESTS_UNIT_SUPPORT_H
#define LW_TESTS_UNIT_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "analysis/analysis.h"
#include "pprof/pprof.h"

#define TS_MAX_FRAMES 64

/* A stack written "func@file:line;func;..." innermost first; the frame
 * strings point into `buf`. */
typedef struct ts_stack {
    char buf[2048];
    pprof_frame f[TS_MAX_FRAMES];
    uint32_t n;
} ts_stack;

/* Goroutines sharing one stack (in ts_stack notation). */
typedef struct ts_gr {
    const char *stack;
    const char *reason;
    uint64_t count;
    uint64_t minutes;
    const char *created_by;
    uint32_t flags;
    const char *labels;
} ts_gr;

/* Fails the running test if `text` does not fit. */
void ts_stack_parse(ts_stack *s, const char *text);

/* A profile of the `n` groups in `g`; the caller frees it. */
pprof_profile *ts_build(pprof_format fmt, pprof_kind kind, const ts_gr *g,
                        size_t n);

/* The function of the frame a signature is shown by (its first frame
 * outside the runtime): how the tests name a signature. */
const char *ts_shown(const lwa_sig *s);

/* A goroutine snapshot of `g` in table `t`, taken from a profile that is
 * freed before returning (the table must not point into it). */
lwa_snapshot *ts_take(lwa_sigtab *t, pprof_format fmt, const ts_gr *g,
                      size_t n);

/* Captures of one process, a peer, and the report on them: what the
 * analysis tests judge.  Every snapshot is stamped a fixed start plus the
 * seconds given. */
typedef struct ts_world {
    lwa_sigtab *t;
    lwa_snapshot *s[32];
    size_t n;
    lwa_snapshot *peer;
    lwa_report *r;
} ts_world;

void ts_world_init(ts_world *w);
/* A capture of kind `kind` of the groups in g, t_s seconds after the start
 * (t_s < 0: no time at all). */
void ts_world_add_kind(ts_world *w, pprof_format fmt, pprof_kind kind,
                       const ts_gr *g, size_t n, int64_t t_s);
/* A goroutine capture, likewise. */
void ts_world_add(ts_world *w, pprof_format fmt, const ts_gr *g, size_t n,
                  int64_t t_s);
/* The peer's capture (a healthy replica of the same workload). */
void ts_world_peer(ts_world *w, pprof_format fmt, const ts_gr *g, size_t n);
/* The report on the captures so far (replacing the previous one). */
const lwa_report *ts_world_judge(ts_world *w);
void ts_world_free(ts_world *w);

/* A scratch directory under /tmp, removed with everything in it by
 * ts_dir_free. */
typedef struct ts_dir {
    char dir[64];
} ts_dir;

/* NULL when the directory cannot be made; `prefix` names it. */
ts_dir *ts_dir_new(const char *prefix);
void ts_dir_free(ts_dir *d);

/* Writes dir/name (making its parent, one level deep) and puts its path in
 * `path`. Fails the running test if the file cannot be written. */
void ts_dir_put(const ts_dir *d, const char *name, const char *content,
                char *path, size_t pathlen);

/* Writes dir/name as an executable "#!/bin/sh" script running `body`. */
void ts_dir_script(const ts_dir *d, const char *name, const char *body,
                   char *path, size_t pathlen);

/* The recorded input tests/unit/pprof_testdata/<name>, parsed; fails the
 * running test (printing the error) if it does not parse. */
pprof_profile *ts_parse_testdata(const char *name);

/* Asserts that a parse was refused with a one-line error containing
 * `want`; frees nothing, since there is nothing to free. */
void ts_assert_refused(const pprof_profile *p, const char *err,
                       const char *want);

/* Parses `input` (named "t.txt") and asserts the refusal; when `prefix` is
 * not NULL the error must start with it. */
void ts_expect_parse_error(const char *input, const char *want,
                           const char *prefix);

/* Asserts that `a` and `b` print the same canonical text, then frees
 * both. */
void ts_assert_same_and_free(pprof_profile *a, pprof_profile *b);

/* Asserts that the recorded input `name` parses to the same profile with
 * every "\n" turned into "\r\n". */
void ts_assert_crlf_same(const char *name);

/* `data` gzipped in one member; the caller frees the result. */
unsigned char *ts_gzip(const void *data, size_t len, size_t *out_len);

/* The recorded object tests/fixtures/kube/<name> (under $LW_ROOT); fails the
 * running test when it cannot be read.  The caller owns the reference. */
json_t *ts_kube_object(const char *name);

/* One recorded behaviour: its directory and its MANIFEST.json (owned by
 * the runner below). */
typedef struct ts_fixture {
    char dir[2048];
    json_t *manifest;
} ts_fixture;

/* Runs `test`, with a ts_fixture as its state, as the cmocka group `group`
 * over every tests/fixtures/<version>/<behaviour>/ (under $LW_ROOT) that
 * has a MANIFEST.json, for versions starting with `prefix` ("" for all).
 * No recording at all is a failure.  Returns what main returns. */
int ts_run_fixtures(const char *group, const char *prefix,
                    void (*test)(void **state));

/* The longest header ts_ws_server_head writes. */
#define TS_WS_HEAD_MAX 10

/* Writes into `h` the header of an unmasked (server to client) WebSocket
 * frame of opcode `op` carrying `len` bytes, final when `fin`; returns its
 * size, at most TS_WS_HEAD_MAX. */
size_t ts_ws_server_head(uint8_t *h, unsigned op, bool fin, size_t len);

#endif
