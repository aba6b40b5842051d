/*
 * test_output_bytes.c — any input byte, any output: bytes that are not
 * UTF-8 still make valid JSON (CLI reports, JSON logs, Event bodies), and
 * control bytes never reach a terminal or break a line (text reports,
 * error messages, Event sentences, text logs); long paths in error
 * messages give way to the reason; pod annotation values quoted into
 * errors are cut at whole characters.
 *
 * The inputs are small hand-made strings, each for one edge of UTF-8 or
 * of the escaping; no capture here poses as a real one.
 *
 * Not for: the parsers' own error wording (test_pprof_*), or what the CLI
 * prints as a whole (tests/cli/output_safety.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "controller/ctl_message.h"
#include "kube/kube_events.h"
#include "kube/kube_pods.h"
#include "lw/lw_text.h"
#include "lw/lw_utf8.h"
#include "obs/obs_log.h"
#include "pprof/pprof.h"

#include "test_kube_watch_fakeapi.h"

/* No byte below 0x20, no DEL, no C1 in UTF-8 (C2 80..C2 9F). */
static bool terminal_safe(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            return false;
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9F)
            return false;
    }
    return lw_utf8_valid(s, n);
}

/* ---- lw_utf8 ------------------------------------------------------------- */

static void test_utf8_decode(void **state)
{
    (void)state;
    uint32_t cp;
    assert_int_equal(lw_utf8_decode("a", 1, &cp), 1);
    assert_int_equal(cp, 'a');
    assert_int_equal(lw_utf8_decode("\xC3\xA9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(lw_utf8_decode("\xE2\x80\xA6", 3, &cp), 3);
    assert_int_equal(cp, 0x2026);
    assert_int_equal(lw_utf8_decode("\xF0\x9F\x98\x80", 4, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(lw_utf8_decode("\xF4\x8F\xBF\xBF", 4, &cp), 4);
    /* Each of these is one invalid byte at s[0], as Go's DecodeRune has it. */
    static const char *const bad[] = {
        "\xE9",             /* Latin-1 é                          */
        "\x80",             /* lone continuation                  */
        "\xC0\x80",         /* overlong NUL                       */
        "\xC1\xBF",         /* overlong                           */
        "\xE0\x80\xAF",     /* overlong '/'                       */
        "\xED\xA0\x80",     /* surrogate U+D800                   */
        "\xF4\x90\x80\x80", /* above U+10FFFF                     */
        "\xF5\x80\x80\x80", /* never valid                        */
        "\xFF",
        "\xE2\x82",         /* cut off                            */
        "\xE2\x28\xA1",     /* bad continuation                   */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(lw_utf8_decode(bad[i], strlen(bad[i]), &cp), 0);
    assert_int_equal(lw_utf8_decode("", 0, &cp), 0);
    assert_true(lw_utf8_valid("main.größe \xE2\x80\xA6", 16));
    assert_false(lw_utf8_valid("/home/jos\xE9/a.go", 15));
}

static void test_utf8_repair(void **state)
{
    (void)state;
    /* One U+FFFD per byte, as Go's encoding/json writes it. */
    char *r = lw_utf8_repair("jos\xE9/\xE2\x82x\xC3\xA9", 10);
    assert_non_null(r);
    assert_string_equal(r, "jos\xEF\xBF\xBD/\xEF\xBF\xBD\xEF\xBF\xBDx\xC3\xA9");
    free(r);
    r = lw_utf8_repair("", 0);
    assert_string_equal(r, "");
    free(r);

    json_t *j = lw_json_string("/home/jos\xE9/a.go");
    assert_non_null(j); /* json_string() gives NULL here */
    assert_string_equal(json_string_value(j), "/home/jos\xEF\xBF\xBD/a.go");
    json_decref(j);
    j = lw_json_string("plain \x1b[31m");
    assert_string_equal(json_string_value(j), "plain \x1b[31m");
    char *dump = json_dumps(j, JSON_ENCODE_ANY);
    assert_string_equal(dump, "\"plain \\u001B[31m\"");
    free(dump);
    json_decref(j);
    assert_null(lw_json_string(NULL));

    /* Keys too: a label name with a stray byte. */
    json_t *o = json_object();
    assert_int_equal(lw_json_object_set(o, "ten\xE9nt", json_integer(1)), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "ten\xEF\xBF\xBDnt")), 1);
    assert_int_equal(lw_json_object_set(o, "ok", json_integer(2)), 0);
    assert_int_equal(json_object_size(o), 2);
    json_decref(o);
}

/* ---- lw_text ------------------------------------------------------------- */

static void esc_eq(const char *in, const char *want)
{
    char out[256];
    size_t n = lw_text_escape(in, strlen(in), out, sizeof out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(lw_text_escaped_len(in, strlen(in)), strlen(want));
    assert_true(terminal_safe(out));
}

static void test_text_escape(void **state)
{
    (void)state;
    esc_eq("main.main", "main.main");
    esc_eq("main.gr\xC3\xB6\xC3\x9F" "e", "main.gr\xC3\xB6\xC3\x9F" "e");
    esc_eq("a\x1b]0;pwned\x07" "b", "a\\x1b]0;pwned\\x07b");
    esc_eq("a\x1b[2J\r\nb\tc\x7f", "a\\x1b[2J\\x0d\\x0ab\\x09c\\x7f");
    esc_eq("jos\xE9", "jos\\xe9");
    esc_eq("raw\x9b" "31m", "raw\\x9b31m");            /* 8-bit CSI      */
    esc_eq("c1\xC2\x9B" "31m", "c1\\u009b31m");         /* C1 as UTF-8    */
    esc_eq("evil\xE2\x80\xAE" "txt", "evil\\u202etxt"); /* RLO            */
    esc_eq("x\xE2\x80\xA8y", "x\\u2028y");
    esc_eq("a\\b", "a\\b"); /* backslashes pass as they are */

    /* Cut: never inside an escape or a character. */
    char out[8];
    lw_text_escape("ab\x1b", 3, out, 5);
    assert_string_equal(out, "ab");
    lw_text_escape("ab\xC3\xA9", 4, out, 4);
    assert_string_equal(out, "ab");
    lw_text_escape("ab\xC3\xA9", 4, out, 5);
    assert_string_equal(out, "ab\xC3\xA9");
    /* A printable run longer than the room stops where the room does. */
    assert_int_equal(lw_text_escape("abcdefghijkl\x1b", 13, out, sizeof out), 7);
    assert_string_equal(out, "abcdefg");
    assert_int_equal(lw_text_escape("abcdefg", 7, out, sizeof out), 7);
    assert_string_equal(out, "abcdefg");
    assert_int_equal(lw_text_escape("abcd\x1b", 5, out, sizeof out), 4);
    assert_string_equal(out, "abcd");

    char *d = lw_text_escape_dup("x\ny");
    assert_string_equal(d, "x\\x0ay");
    free(d);

    char buf[64] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_int_equal(lw_text_fputs("\x1b]52;c;AAAA\x07", f), 0);
    fclose(f);
    assert_string_equal(buf, "\\x1b]52;c;AAAA\\x07");
}

static void test_text_shorten_and_pathf(void **state)
{
    (void)state;
    char path[700];
    size_t k = (size_t)snprintf(path, sizeof path, "/data/");
    while (k < 600)
        path[k++] = 'd';
    snprintf(path + k, sizeof path - k, "/capture.txt");

    char out[512];
    lw_text_pathf(out, sizeof out, path, "%s", "No such file or directory");
    assert_true(strlen(out) < sizeof out);
    size_t n = strlen(out);
    const char *tail = ": No such file or directory";
    assert_true(n > strlen(tail));
    assert_string_equal(out + n - strlen(tail), tail);
    assert_non_null(strstr(out, LW_TEXT_ELLIPSIS));
    assert_int_equal(strncmp(out, "/data/", 6), 0);
    assert_non_null(strstr(out, "/capture.txt: No such"));
    assert_true(lw_utf8_valid(out, n));

    /* Short enough: unchanged. */
    lw_text_pathf(out, sizeof out, "dump.txt", "line %d: %s", 812, "bad");
    assert_string_equal(out, "dump.txt: line 812: bad");

    /* Escapes are never split by the shortening. */
    char esc_path[600];
    for (size_t i = 0; i < sizeof esc_path - 1; i++)
        esc_path[i] = i % 2 ? '\x1b' : '\xE9';
    esc_path[sizeof esc_path - 1] = '\0';
    lw_text_pathf(out, 200, esc_path, "cannot open: %s", "Permission denied");
    n = strlen(out);
    assert_true(n < 200);
    assert_true(terminal_safe(out));
    assert_string_equal(out + n - strlen(": cannot open: Permission denied"),
                        ": cannot open: Permission denied");
    const char *ell = strstr(out, LW_TEXT_ELLIPSIS);
    assert_non_null(ell);
    /* Whole escapes on both sides: "\xe9" or "\x1b" units of 4 bytes. */
    assert_int_equal((size_t)(ell - out) % 4, 0);

    /* A reason longer than the buffer: the path keeps a little of itself
     * and the reason is cut at its end, whole characters only. */
    char reason[600];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    lw_text_pathf(out, 100, path, "%s", reason);
    assert_true(strlen(out) == 99);
    assert_int_equal(strncmp(out, "/data/", 6), 0);
    assert_non_null(strstr(out, ": rrrr"));

    char s[32];
    assert_int_equal(lw_text_shorten("abcdefghijklmnopqrstuvwxyz", 26, 12, s), 12);
    assert_string_equal(s, "abc" LW_TEXT_ELLIPSIS "uvwxyz");
    assert_int_equal(lw_text_shorten("abc", 3, 12, s), 3);
    assert_string_equal(s, "abc");
}

/* ---- the parsers' messages ------------------------------------------------ */

static void test_parse_errors_keep_the_reason(void **state)
{
    (void)state;
    char path[900];
    size_t k = (size_t)snprintf(path, sizeof path, "/nonexistent/");
    while (k < sizeof path - 20)
        path[k++] = 'p';
    snprintf(path + k, sizeof path - k, "/dump\x1b[2J.txt");
    char err[512];
    assert_null(pprof_parse_file(path, NULL, err, sizeof err));
    size_t n = strlen(err);
    const char *want = ": cannot open: No such file or directory";
    assert_true(n > strlen(want));
    assert_string_equal(err + n - strlen(want), want);
    assert_non_null(strstr(err, "dump\\x1b[2J.txt"));
    assert_true(terminal_safe(err));

    /* A parse error reported under a long name keeps its line and reason. */
    const char *dump = "goroutine 1 [running:\n";
    assert_null(pprof_parse_buffer(dump, strlen(dump), path, NULL, err,
                                   sizeof err));
    n = strlen(err);
    want = ": line 1: malformed goroutine header \"goroutine 1 [running:\"";
    assert_true(n > strlen(want));
    assert_string_equal(err + n - strlen(want), want);
    assert_true(terminal_safe(err));
}

/* ---- Event sentences and bodies -------------------------------------------- */

static void test_finding_message_escapes(void **state)
{
    (void)state;
    pprof_frame frames[] = {
        {.func = "main.(*srv).h\x1b]0;owned\x07\xE9", .file = "/src/a\r\nb.go",
         .line = 7},
    };
    lwa_sig sig;
    memset(&sig, 0, sizeof sig);
    sig.nframes = 1;
    sig.frames = frames;
    sig.wait_reason = "chan send\x1b[5m";
    sig.created_by.func = "main.spawn\xC2\x9B";
    sig.pattern = LWA_PATTERN_CHAN_SEND;
    lwa_finding f;
    memset(&f, 0, sizeof f);
    f.sig = &sig;
    f.count = 12;
    f.delta = 10;
    ctl_finding_msg m = {.growth = 10, .span_minutes = 4, .per_minute = 2.5,
                         .peer_count = -1, .top = &f};
    char out[1024];
    ctl_format_finding(&m, out, sizeof out);
    assert_true(terminal_safe(out));
    assert_non_null(strstr(out, "main.(*srv).h\\x1b]0;owned\\x07\\xe9"));
    assert_non_null(strstr(out, "b.go:7"));
    assert_non_null(strstr(out, "[chan send\\x1b[5m]"));
    assert_non_null(strstr(out, "created by main.spawn\\u009b"));

    /* Cut anywhere, the sentence stays valid UTF-8. */
    for (size_t cap = 1; cap < strlen(out); cap += 7) {
        char small[1024];
        ctl_format_finding(&m, small, cap);
        assert_true(terminal_safe(small));
    }
}

typedef struct store {
    pthread_mutex_t mu;
    int posts, bad;
    json_t *last;
} store;

static int handler(fake_api *a, const fake_req *r, int fd, void *ud)
{
    (void)a;
    store *s = ud;
    json_t *ev = json_loadb(r->body, r->body_len, 0, NULL);
    pthread_mutex_lock(&s->mu);
    if (!strcmp(r->method, "POST") && ev) {
        s->posts++;
        json_decref(s->last);
        s->last = json_incref(ev);
    } else {
        s->bad++;
    }
    pthread_mutex_unlock(&s->mu);
    if (ev)
        fake_send_json(fd, 201, ev);
    else
        fake_send_status(fd, 400, "BadRequest", "not JSON");
    json_decref(ev);
    return FAKE_KEEP;
}

static char logged[1024];
static void keep_log(const char *msg, void *ud)
{
    (void)ud;
    snprintf(logged, sizeof logged, "%s", msg);
}

/* A pod whose stack holds a byte that is not UTF-8 still gets its Event:
 * the recorder repairs the message before the body is built. */
static void test_event_with_invalid_utf8_is_written(void **state)
{
    (void)state;
    store s = {.mu = PTHREAD_MUTEX_INITIALIZER};
    fake_api api;
    kube_client *c = fake_api_connect(&api, handler, &s, "shop");
    assert_non_null(c);
    char err[512];
    kube_recorder_opts o = {.component = "leakwatch", .instance = "t",
                            .log = keep_log, .max_message_bytes = 64};
    kube_recorder *r = kube_recorder_new(c, &o, err, sizeof err);
    assert_non_null(r);
    kube_object_ref pod = {.api_version = "v1", .kind = "Pod",
                           .namespace = "shop", .name = "api-1", .uid = "u1"};
    assert_int_equal(kube_event_record(r, &pod, "Warning", "GoroutineLeak",
                                       "+40 goroutines: main.h /home/jos\xE9/a.go:1"),
                     KUBE_EVENT_QUEUED);
    /* Long enough to be cut, with stray bytes on both sides of the cut. */
    char longmsg[200];
    memset(longmsg, '\xE9', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    assert_int_equal(kube_event_record(r, &pod, "Warning", "Other", longmsg),
                     KUBE_EVENT_QUEUED);
    assert_int_equal(kube_recorder_flush(r, 5000), 0);
    kube_recorder_stats st;
    kube_recorder_get_stats(r, &st);
    assert_int_equal(st.created, 2);
    assert_int_equal(st.failed, 0);
    pthread_mutex_lock(&s.mu);
    assert_int_equal(s.posts, 2);
    assert_int_equal(s.bad, 0);
    const char *m = json_string_value(json_object_get(s.last, "message"));
    assert_non_null(m);
    assert_true(lw_utf8_valid(m, strlen(m)));
    assert_true(strlen(m) <= 64);
    assert_int_equal(strncmp(m, "\xEF\xBF\xBD\xEF\xBF\xBD", 6), 0);
    pthread_mutex_unlock(&s.mu);
    kube_recorder_free(r);
    fake_api_disconnect(&api, c);
    json_decref(s.last);
}

/* ---- annotation values in messages ------------------------------------------- */

static json_t *pod_with_scheme(const char *scheme)
{
    return json_pack("{s:{s:s,s:s,s:s,s:{s:s,s:s}},s:{s:[{s:s,s:[{s:s,s:i}]}]}}",
                     "metadata", "name", "web-1", "namespace", "shop", "uid", "u1",
                     "annotations", "leakwatch.dev/scrape", "true",
                     "leakwatch.dev/scheme", scheme, "spec", "containers", "name",
                     "app", "ports", "name", "http", "containerPort", 8080);
}

/* An annotation value (UTF-8, as the API server keeps it) is quoted into
 * the pod's error: cut at a whole character however long, C1 and bidi
 * controls shown, so scan's JSON keeps its "error" and nothing reaches
 * a terminal. */
static void test_annotation_value_shown(void **state)
{
    (void)state;
    for (int shift = 0; shift < 3; shift++) {
        /* 0-2 ASCII bytes ahead move the cut inside "é" and out again. */
        char v[400] = "";
        for (int i = 0; i < shift; i++)
            strcat(v, "x");
        for (int i = 0; i < 150; i++)
            strcat(v, "\xC3\xA9");
        json_t *p = pod_with_scheme(v);
        assert_non_null(p);
        kube_pod_endpoint ep;
        assert_int_equal(kube_pod_endpoint_resolve(p, &ep), -1);
        assert_true(terminal_safe(ep.error));
        assert_non_null(strstr(ep.error, "...\" is not http or https"));
        json_decref(p);
    }
    json_t *p = pod_with_scheme("a\xC2\x9B" "b\xE2\x80\xAE" "c\"d");
    kube_pod_endpoint ep;
    assert_int_equal(kube_pod_endpoint_resolve(p, &ep), -1);
    assert_string_equal(ep.error, "leakwatch.dev/scheme: \"a\\u009bb\\u202ec\\x22d\" "
                                  "is not http or https");
    json_decref(p);
}

/* ---- logs ------------------------------------------------------------------ */

static char *read_all(int fd)
{
    static char buf[8192];
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void test_logs(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/lw-obslog-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    unlink(tmpl);
    obs_logger *l = obs_logger_new(fd, OBS_DEBUG, OBS_LOG_JSON);
    obs_log(l, OBS_WARN, "capture \xE9", "pod", "shop/api-1", "frame",
            "main.h\xE9\x1b[2J", OBS_END);
    obs_logger_free(l);
    char *line = read_all(fd);
    assert_int_equal(strchr(line, '\n') - line + 1, (long)strlen(line));
    json_t *j = json_loads(line, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "msg")),
                        "capture \xEF\xBF\xBD");
    /* The field is there, not dropped for its bad byte. */
    assert_string_equal(json_string_value(json_object_get(j, "frame")),
                        "main.h\xEF\xBF\xBD\x1b[2J");
    json_decref(j);

    assert_int_equal(ftruncate(fd, 0), 0);
    lseek(fd, 0, SEEK_SET);
    l = obs_logger_new(fd, OBS_DEBUG, OBS_LOG_TEXT);
    obs_log(l, OBS_INFO, "two\nlines", "error", "a \"b\"\r\nc\x1b]0;x\x07",
            OBS_END);
    obs_logger_free(l);
    line = read_all(fd);
    assert_int_equal(strchr(line, '\n') - line + 1, (long)strlen(line));
    line[strlen(line) - 1] = '\0';
    assert_true(terminal_safe(line));
    assert_non_null(strstr(line, "two\\x0alines"));
    assert_non_null(strstr(line, "error=\"a \"b\"\\x0d\\x0ac\\x1b]0;x\\x07\""));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_decode),
        cmocka_unit_test(test_utf8_repair),
        cmocka_unit_test(test_text_escape),
        cmocka_unit_test(test_text_shorten_and_pathf),
        cmocka_unit_test(test_parse_errors_keep_the_reason),
        cmocka_unit_test(test_finding_message_escapes),
        cmocka_unit_test(test_event_with_invalid_utf8_is_written),
        cmocka_unit_test(test_annotation_value_shown),
        cmocka_unit_test(test_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
