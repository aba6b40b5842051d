/*
 * cli_print.c — number, duration, stack and JSON formatting for the
 * offline commands.  See cli_print.h.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "cli_args.h"
#include "cli_print.h"
#include "lw/lw_fmt.h"
#include "lw/lw_text.h"
#include "lw/lw_utf8.h"

const char *cli_fmt_count(char buf[CLI_NUM_LEN], uint64_t v)
{
    lw_fmt_grouped_u(v, buf, CLI_NUM_LEN);
    return buf;
}

const char *cli_fmt_delta(char buf[CLI_NUM_LEN], int64_t v)
{
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t k = 0;
    if (v)
        buf[k++] = v > 0 ? '+' : '-';
    lw_fmt_grouped_u(mag, buf + k, CLI_NUM_LEN - k);
    return buf;
}

const char *cli_fmt_rate(char buf[CLI_NUM_LEN], double v)
{
    const char *sign = v > 0.05 ? "+" : v < -0.05 ? "-" : "";
    double mag = fabs(v);
    if (mag >= 999.5) {
        size_t k = strlen(sign);
        memcpy(buf, sign, k);
        lw_fmt_grouped_u((uint64_t)llround(mag), buf + k, CLI_NUM_LEN - k);
        return buf;
    }
    char num[32];
    snprintf(num, sizeof(num), "%.1f", mag);
    size_t len = strlen(num);
    if (len > 2 && !strcmp(num + len - 2, ".0"))
        num[len - 2] = '\0';
    if (!strcmp(num, "0"))
        sign = "";
    snprintf(buf, CLI_NUM_LEN, "%s%s", sign, num);
    return buf;
}

const char *cli_fmt_duration(char buf[CLI_NUM_LEN], double minutes)
{
    long long s = llround(minutes * 60.0);
    if (s < 0)
        s = 0;
    long long h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
    if (h)
        snprintf(buf, CLI_NUM_LEN, "%lldh%lldm%llds", h, m, sec);
    else if (m)
        snprintf(buf, CLI_NUM_LEN, "%lldm%llds", m, sec);
    else
        snprintf(buf, CLI_NUM_LEN, "%llds", sec);
    return buf;
}

const char *cli_basename(const char *path)
{
    if (!path)
        return "";
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static const pprof_frame *shown_frame(const lwa_sig *sig)
{
    return sig->nframes ? &sig->frames[sig->shown] : NULL;
}

void cli_print_stack_line(FILE *out, const lwa_sig *sig, uint64_t minutes_max)
{
    /* Names, files and wait reasons are input bytes: escaped, so that a
     * capture cannot drive the terminal or break one line per stack. */
    const pprof_frame *f = shown_frame(sig);
    lw_text_fputs(f && f->func ? f->func : "(no frames)", out);
    if (f && f->file) {
        fputs("  ", out);
        lw_text_fputs(cli_basename(f->file), out);
        if (f->line)
            fprintf(out, ":%u", f->line);
    }
    fputs("  [", out);
    lw_text_fputs(sig->wait_reason ? sig->wait_reason : "wait unknown", out);
    if (minutes_max)
        fprintf(out, ", up to %" PRIu64 " min", minutes_max);
    fputc(']', out);
    if (sig->created_by.func) {
        fputs("  created by ", out);
        lw_text_fputs(sig->created_by.func, out);
    }
}

double cli_round(double v, int decimals)
{
    double p = pow(10.0, decimals);
    double r = round(v * p) / p;
    return r == 0 ? 0 : r; /* no "-0" */
}

bool cli_json_set(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return false;
    return json_object_set_new(obj, key, value) == 0;
}

json_t *cli_json_report_end(json_t *o, json_t *stacks, bool ok)
{
    if (ok) {
        if (cli_json_set(o, "stacks", stacks))
            return o;
        stacks = NULL; /* cli_json_set took it */
    }
    json_decref(stacks);
    json_decref(o);
    return NULL;
}

static json_t *json_frames(const lwa_sig *sig, bool fold)
{
    json_t *frames = json_array();
    if (!frames)
        return NULL;
    for (uint32_t i = sig->shown; i < sig->nframes; i++) {
        const char *fn = sig->frames[i].func;
        /* Folded output leaves runtime internals out everywhere, as Go's
         * tracebacks do (runtime.goexit, runtime.main). */
        if (!fn || (fold && i > sig->shown && lwa_func_is_runtime_internal(fn)))
            continue;
        if (json_array_append_new(frames, lw_json_string(fn)) < 0) {
            json_decref(frames);
            return NULL;
        }
    }
    return frames;
}

bool cli_json_stack_head(json_t *o, const lwa_sig *sig, bool fold)
{
    const pprof_frame *f = shown_frame(sig);
    return cli_json_set(o, "pattern",
                        json_string(lwa_pattern_name(sig->pattern))) &&
           cli_json_set(o, "frames", json_frames(sig, fold)) &&
           cli_json_set(o, "file",
                        f && f->file ? lw_json_string(f->file) : json_null()) &&
           cli_json_set(o, "line",
                        f && f->line ? json_integer(f->line) : json_null()) &&
           cli_json_set(o, "wait_reason",
                        sig->wait_reason ? lw_json_string(sig->wait_reason)
                                         : json_null());
}

bool cli_json_stack_tail(json_t *o, const lwa_sig *sig)
{
    char id[20];
    snprintf(id, sizeof(id), "%016" PRIx64, sig->id);
    return cli_json_set(o, "created_by",
                        sig->created_by.func
                            ? lw_json_string(sig->created_by.func)
                            : json_null()) &&
           cli_json_set(o, "fix", json_string(lwa_pattern_fix(sig->pattern))) &&
           cli_json_set(o, "wait_reason_inferred",
                        json_boolean(sig->wait_reason &&
                                     sig->reason_inferred)) &&
           cli_json_set(o, "id", json_string(id));
}

int cli_json_emit(json_t *obj, const char *cmd)
{
    if (!obj) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        return CLI_EXIT_INPUT;
    }
    int rc = json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                         JSON_REAL_PRECISION(15));
    json_decref(obj);
    if (rc < 0 || fputc('\n', stdout) == EOF) {
        fprintf(stderr, "%s: cannot write output\n", cmd);
        return CLI_EXIT_INPUT;
    }
    return CLI_EXIT_OK;
}
