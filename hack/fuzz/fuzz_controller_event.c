/*
 * fuzz_controller_event.c — libFuzzer target for the reader of
 * leakwatch's own workload Events (controller/ctl_message.h's
 * ctl_parse_workload_event), which a new leader runs on whatever Events
 * the API lists: their text is anyone's who may create Events.
 *
 * The first input byte picks the Event's reason; the rest, cut at its
 * first NUL, is the message.  Asserts: every field comes back terminated
 * inside its buffer, a stack is named whenever the Event is accepted, the
 * numbers are finite, and only GoroutineLeak / GoroutineLeakNotFixed open
 * a story.  Then a round trip: a GoroutineLeakFixed or NotFixed message
 * written by ctl_format_verified from fields the input picks reads back
 * to the same stack, revision, images, pattern and load.  Built and run by
 * hack/fuzz/run.sh.
 */
#include <math.h>

#include "analysis/analysis.h"
#include "controller/ctl_message.h"
#include "fuzz_require.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry points take no context: the compiled patterns are
 * made once, here, as the controller makes them once per adoption. */
static ctl_event_reader *reader;

static void free_reader(void)
{
    ctl_event_reader_free(reader);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    reader = ctl_event_reader_new();
    FZ_REQUIRE(reader != NULL);
    atexit(free_reader);
    return 0;
}

static const char *const reasons[] = {
    "GoroutineLeak",        "GoroutineLeakNotFixed", "GoroutineLeakFixed",
    "GoroutineLeakCleared", "LeakContainment",       "GoroutineLeakSuspected",
};

static void check_event(const char *reason, const ctl_story_event *ev)
{
    FZ_REQUIRE(memchr(ev->func, '\0', sizeof ev->func) != NULL);
    FZ_REQUIRE(memchr(ev->pattern, '\0', sizeof ev->pattern) != NULL);
    FZ_REQUIRE(memchr(ev->images, '\0', sizeof ev->images) != NULL);
    FZ_REQUIRE(ev->func[0] != '\0' && strchr(ev->func, ' ') == NULL);
    FZ_REQUIRE(ev->revision >= -1);
    FZ_REQUIRE(isfinite(ev->per_minute) && isfinite(ev->req_per_s));
    FZ_REQUIRE(ev->req_per_s == -1 || ev->req_per_s >= 0);
    bool opens = !strcmp(reason, "GoroutineLeak") ||
                 !strcmp(reason, "GoroutineLeakNotFixed");
    FZ_REQUIRE(ev->open == opens);
    if (!ev->open)
        FZ_REQUIRE(ev->pattern[0] == '\0' && ev->revision == -1);
}

/* n bytes of the input mapped onto the characters a name may hold. */
static size_t take_name(const uint8_t **d, size_t *left, const char *set,
                        size_t max, char *out)
{
    size_t k = strlen(set), n = 0;
    size_t want = *left ? 1 + (*d)[0] % max : 0;
    while (n < want && *left) {
        out[n++] = set[(*d)[0] % k];
        (*d)++;
        (*left)--;
    }
    out[n] = '\0';
    return n;
}

static uint32_t take_u32(const uint8_t **d, size_t *left)
{
    uint32_t v = 0;
    for (int i = 0; i < 4 && *left; i++, (*d)++, (*left)--)
        v = v << 8 | (*d)[0];
    return v;
}

static void round_trip(const ctl_event_reader *reader, const uint8_t *d,
                       size_t left)
{
    static const char fn_set[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._()*/[]-";
    static const char img_set[] = "abcdefghijklmnopqrstuvwxyz0123456789:./-_@";
    char func[96], images[64], old_images[64], pod[64];
    if (!take_name(&d, &left, fn_set, 80, func))
        return;
    take_name(&d, &left, img_set, 60, images);
    take_name(&d, &left, img_set, 60, old_images);
    if (!take_name(&d, &left, "abcdefghijklmnopqrstuvwxyz0123456789-", 60, pod))
        return;
    uint32_t bits = take_u32(&d, &left);
    ctl_verify_msg m = {
        .kind = bits & 1 ? CTL_VERIFIED_FIXED : CTL_VERIFIED_NOT_FIXED,
        .func = func,
        .pattern = lwa_pattern_name((lwa_pattern)((bits >> 1) % LWA_PATTERN_COUNT)),
        .pod = pod,
        .revision = (long)(take_u32(&d, &left) % 100000),
        .images = images,
        .old_revision = (long)(take_u32(&d, &left) % 100000),
        .old_images = old_images,
        .from = (int64_t)take_u32(&d, &left) - 1000,
        .to = (int64_t)take_u32(&d, &left),
        .minutes = take_u32(&d, &left) / 7.0,
        .per_minute = ((int32_t)take_u32(&d, &left)) / 10.0,
        .req_per_s = bits & 2 ? -1 : take_u32(&d, &left) / 10.0,
        .old_per_minute = take_u32(&d, &left) / 10.0,
        .old_req_per_s = bits & 4 ? -1 : take_u32(&d, &left) / 10.0,
        .restarts = (int)((bits >> 8) % 5),
    };
    char msg[2048];
    ctl_format_verified(&m, msg, sizeof msg);
    bool fixed = m.kind == CTL_VERIFIED_FIXED;
    ctl_story_event ev;
    FZ_REQUIRE(ctl_parse_workload_event(
        reader, fixed ? "GoroutineLeakFixed" : "GoroutineLeakNotFixed", msg, &ev));
    FZ_REQUIRE(strcmp(ev.func, func) == 0);
    FZ_REQUIRE(ev.open == !fixed);
    if (fixed)
        return;
    FZ_REQUIRE(ev.revision == m.revision);
    FZ_REQUIRE(strcmp(ev.images, images) == 0);
    FZ_REQUIRE(strcmp(ev.pattern, m.pattern) == 0);
    /* The message shows one decimal: what comes back is that. */
    FZ_REQUIRE(fabs(ev.per_minute - m.per_minute) <= 0.051);
    if (m.req_per_s < 0)
        FZ_REQUIRE(ev.req_per_s == -1);
    else
        FZ_REQUIRE(fabs(ev.req_per_s - m.req_per_s) <= 0.051);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *reason = reasons[data[0] % (sizeof reasons / sizeof reasons[0])];
    size_t n = size - 1;
    char *msg = malloc(n + 1);
    FZ_REQUIRE(msg != NULL);
    memcpy(msg, data + 1, n);
    msg[n] = '\0';
    ctl_story_event ev;
    memset(&ev, 0x55, sizeof ev);
    if (ctl_parse_workload_event(reader, reason, msg, &ev))
        check_event(reason, &ev);
    free(msg);
    round_trip(reader, data + 1, n);
    return 0;
}
